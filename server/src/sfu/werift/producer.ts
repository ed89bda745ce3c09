/** A producer as the caller's process sees it: identity, lifecycle, stats fetched from the media process. */
import { TypedEmitter } from '@promethean/shared';
import { InvalidStateError } from '../errors.ts';
import type { SfuProducer, SfuProducerEvents, SfuProducerStats } from '../types.ts';
import type { Channel } from './channel.ts';

export interface WeriftProducerInit {
  id: string;
  sessionId: string;
  userId: string;
  ssrc: number;
  payloadType: number | undefined;
  channel: Channel;
  /** Told once, when the producer closes (the router drops it and tells its listeners). */
  onClose: (producer: WeriftProducer) => void;
}

export class WeriftProducer extends TypedEmitter<SfuProducerEvents> implements SfuProducer {
  readonly id: string;
  readonly sessionId: string;
  readonly userId: string;
  readonly ssrc: number;
  readonly payloadType: number | undefined;
  readonly #channel: Channel;
  readonly #onClose: (producer: WeriftProducer) => void;
  #closed = false;

  constructor(init: WeriftProducerInit) {
    super();
    this.id = init.id;
    this.sessionId = init.sessionId;
    this.userId = init.userId;
    this.ssrc = init.ssrc;
    this.payloadType = init.payloadType;
    this.#channel = init.channel;
    this.#onClose = init.onClose;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async stats(): Promise<SfuProducerStats> {
    if (this.#closed) throw new InvalidStateError(`producer ${this.id} is closed`);
    return this.#channel.request('producer.stats', { producerId: this.id });
  }

  close(): void {
    this.closeLocally(true);
  }

  /** Closes this side; `tellMedia: false` when the media process already closed it (router or Sfu closing). */
  closeLocally(tellMedia: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    if (tellMedia && !this.#channel.closed) void this.#channel.request('producer.close', { producerId: this.id }).catch(() => undefined);
    this.#onClose(this);
    this.emit('close');
  }
}
