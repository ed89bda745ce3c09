/** A producer as the caller's process sees it: identity, lifecycle, stats fetched from the media process. */
import { ProducerBase, type ProducerIdentity } from '../producer-base.ts';
import type { SfuProducerStats } from '../types.ts';
import type { Channel } from './channel.ts';

export interface WeriftProducerInit extends ProducerIdentity {
  channel: Channel;
}

export class WeriftProducer extends ProducerBase {
  readonly #channel: Channel;

  constructor(init: WeriftProducerInit) {
    super(init);
    this.#channel = init.channel;
  }

  protected readStats(): Promise<SfuProducerStats> {
    return this.#channel.request('producer.stats', { producerId: this.id });
  }

  protected release(): void {
    if (!this.#channel.closed) void this.#channel.request('producer.close', { producerId: this.id }).catch(() => undefined);
  }
}
