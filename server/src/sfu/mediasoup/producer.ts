/** A producer: one speaker's RTP, routed by the ingest to a mediasoup producer on its router's PlainTransport. */
import type { types as ms } from 'mediasoup';
import { ProducerBase, type ProducerIdentity } from '../producer-base.ts';
import type { SfuProducerStats } from '../types.ts';
import type { Ingest } from './ingest.ts';

export interface MediasoupProducerInit extends ProducerIdentity {
  producer: ms.Producer;
  ingest: Ingest;
}

export class MediasoupProducer extends ProducerBase {
  /** mediasoup's producer (its id is not this one's). */
  readonly producer: ms.Producer;
  readonly #ingest: Ingest;

  constructor(init: MediasoupProducerInit) {
    super(init);
    this.producer = init.producer;
    this.#ingest = init.ingest;
  }

  protected async readStats(): Promise<SfuProducerStats> {
    return this.#ingest.counters(this.ssrc) ?? { packets: 0, bytes: 0, lastPacketAt: null };
  }

  protected release(): void {
    // Unrouted first and synchronously: RTP sent after close() returns counts as an unknown ssrc.
    this.#ingest.unroute(this.ssrc);
    this.producer.close();
  }
}
