/** A producer: one speaker's RTP, routed by the ingest to a mediasoup producer on its router's PlainTransport. */
import type { types as ms } from 'mediasoup';
import { TypedEmitter } from '@promethean/shared';
import { InvalidStateError } from '../errors.ts';
import type { SfuProducer, SfuProducerEvents, SfuProducerStats } from '../types.ts';
import type { Ingest } from './ingest.ts';

export interface MediasoupProducerInit {
  id: string;
  sessionId: string;
  userId: string;
  ssrc: number;
  payloadType: number | undefined;
  producer: ms.Producer;
  ingest: Ingest;
  /** Told once, when the producer closes (the router drops it and tells its listeners). */
  onClose: (producer: MediasoupProducer) => void;
}

export class MediasoupProducer extends TypedEmitter<SfuProducerEvents> implements SfuProducer {
  readonly id: string;
  readonly sessionId: string;
  readonly userId: string;
  readonly ssrc: number;
  readonly payloadType: number | undefined;
  /** mediasoup's producer (its id is not this one's). */
  readonly producer: ms.Producer;
  readonly #ingest: Ingest;
  readonly #onClose: (producer: MediasoupProducer) => void;
  #closed = false;

  constructor(init: MediasoupProducerInit) {
    super();
    this.id = init.id;
    this.sessionId = init.sessionId;
    this.userId = init.userId;
    this.ssrc = init.ssrc;
    this.payloadType = init.payloadType;
    this.producer = init.producer;
    this.#ingest = init.ingest;
    this.#onClose = init.onClose;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async stats(): Promise<SfuProducerStats> {
    if (this.#closed) throw new InvalidStateError(`producer ${this.id} is closed`);
    return this.#ingest.counters(this.ssrc) ?? { packets: 0, bytes: 0, lastPacketAt: null };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Unrouted first and synchronously: RTP sent after close() returns counts as an unknown ssrc.
    this.#ingest.unroute(this.ssrc);
    this.producer.close();
    this.#onClose(this);
    this.emit('close');
  }
}
