/**
 * What every driver's producer shares: its identity, the checked options it was made from, and a
 * close that runs once, releases the driver's resources, tells the router, then emits `close`.
 */
import { randomUUID } from 'node:crypto';
import { TypedEmitter } from '@promethean/shared';
import { InvalidStateError, SfuError } from './errors.ts';
import type { ProduceOptions, SfuProducer, SfuProducerEvents, SfuProducerStats } from './types.ts';

const isUint = (n: unknown, max: number): n is number => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= max;

/** `router.produce()`'s options, checked, with the id filled in; `SfuError` (`schema`) naming the bad one. */
export function checkProduceOptions(options: ProduceOptions): { id: string; userId: string; ssrc: number; payloadType: number | undefined } {
  const { userId, ssrc, payloadType } = options;
  if (typeof userId !== 'string' || userId.length === 0) throw new SfuError('userId must be a non-empty string', { code: 'schema' });
  if (!isUint(ssrc, 0xffff_ffff)) throw new SfuError('ssrc must be an unsigned 32-bit integer', { code: 'schema' });
  if (payloadType !== undefined && !isUint(payloadType, 127)) throw new SfuError('payloadType must be 0–127', { code: 'schema' });
  const id = options.producerId ?? randomUUID();
  if (typeof id !== 'string' || id.length === 0) throw new SfuError('producer id must be a non-empty string', { code: 'schema' });
  return { id, userId, ssrc, payloadType };
}

export interface ProducerIdentity {
  id: string;
  sessionId: string;
  userId: string;
  ssrc: number;
  payloadType: number | undefined;
  /** Told once, when the producer closes (the router drops it and tells its listeners). */
  onClose: (producer: SfuProducer) => void;
}

export abstract class ProducerBase extends TypedEmitter<SfuProducerEvents> implements SfuProducer {
  readonly id: string;
  readonly sessionId: string;
  readonly userId: string;
  readonly ssrc: number;
  readonly payloadType: number | undefined;
  readonly #onClose: (producer: SfuProducer) => void;
  #closed = false;

  constructor(init: ProducerIdentity) {
    super();
    this.id = init.id;
    this.sessionId = init.sessionId;
    this.userId = init.userId;
    this.ssrc = init.ssrc;
    this.payloadType = init.payloadType;
    this.#onClose = init.onClose;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async stats(): Promise<SfuProducerStats> {
    if (this.#closed) throw new InvalidStateError(`producer ${this.id} is closed`);
    return this.readStats();
  }

  close(): void {
    this.finish(true);
  }

  /** Closes once: `release` frees the driver's side (skipped when that side is already gone). */
  protected finish(release: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    if (release) this.release();
    this.#onClose(this);
    this.emit('close');
  }

  protected abstract readStats(): Promise<SfuProducerStats>;
  protected abstract release(): void;
}
