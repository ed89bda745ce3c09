/**
 * What every driver's producer shares: the checked options it was made from, the guard on its stats,
 * and (from {@link ChildBase}) its identity and close.
 */
import { randomUUID } from 'node:crypto';
import { ChildBase, type ChildIdentity } from './child-base.ts';
import { SfuError } from './errors.ts';
import type { ProduceOptions, SfuProducer, SfuProducerEvents, SfuProducerStats } from './types.ts';

const isUint = (n: unknown, max: number): n is number => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= max;

/** `router.produce()`'s options once checked, with the id filled in. */
export interface CheckedProduceOptions {
  id: string;
  userId: string;
  ssrc: number;
  payloadType: number | undefined;
}

/** `router.produce()`'s options, checked, with the id filled in; `SfuError` (`schema`) naming the bad one. */
export function checkProduceOptions(options: ProduceOptions): CheckedProduceOptions {
  const { userId, ssrc, payloadType } = options;
  if (typeof userId !== 'string' || userId.length === 0) throw new SfuError('userId must be a non-empty string', { code: 'schema' });
  if (!isUint(ssrc, 0xffff_ffff)) throw new SfuError('ssrc must be an unsigned 32-bit integer', { code: 'schema' });
  if (payloadType !== undefined && !isUint(payloadType, 127)) throw new SfuError('payloadType must be 0–127', { code: 'schema' });
  const id = options.producerId ?? randomUUID();
  if (typeof id !== 'string' || id.length === 0) throw new SfuError('producer id must be a non-empty string', { code: 'schema' });
  return { id, userId, ssrc, payloadType };
}

export interface ProducerIdentity extends ChildIdentity {
  userId: string;
  ssrc: number;
  payloadType: number | undefined;
}

export abstract class ProducerBase extends ChildBase<SfuProducerEvents> implements SfuProducer {
  readonly userId: string;
  readonly ssrc: number;
  readonly payloadType: number | undefined;

  constructor(init: ProducerIdentity) {
    super(init, 'producer');
    this.userId = init.userId;
    this.ssrc = init.ssrc;
    this.payloadType = init.payloadType;
  }

  async stats(): Promise<SfuProducerStats> {
    this.assertOpen();
    return this.readStats();
  }

  protected abstract readStats(): Promise<SfuProducerStats>;
}
