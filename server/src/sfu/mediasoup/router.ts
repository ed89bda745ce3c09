/**
 * A router (one voice session) on one mediasoup worker: a mediasoup Router, its PlainTransport fed by
 * the ingest thread, the producers on it and one WebRtcTransport per listener.
 */
import { checkProduceOptions } from '../producer-base.ts';
import { randomUUID } from 'node:crypto';
import type { types as ms } from 'mediasoup';
import { TypedEmitter } from '@promethean/shared';
import { IdInUseError, InvalidStateError, SfuError, SsrcInUseError } from '../errors.ts';
import type { ProduceOptions, SfuListener, SfuProducer, SfuRouter, SfuRouterEvents } from '../types.ts';
import type { Ingest } from './ingest.ts';
import { MediasoupListener } from './listener.ts';
import { MediasoupProducer } from './producer.ts';

/** The one codec: Opus as Discord sends it. */
export const MEDIA_CODECS: ms.RtpCodecCapability[] = [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48_000, channels: 2 }];

/** The payload type of every mediasoup producer; the ingest writes it into each packet it forwards. */
export const PRODUCER_PAYLOAD_TYPE = 111;

/** What a router needs from its Sfu (ids are unique across the Sfu). */
export interface RouterContext {
  ingest: Ingest;
  producerIds: Set<string>;
  listenerIds: Set<string>;
  /** `createWebRtcTransport()` options: where listeners' transports listen. */
  webRtcTransportOptions: () => ms.WebRtcTransportOptions;
}

export interface MediasoupRouterInit {
  sessionId: string;
  router: ms.Router;
  plain: ms.PlainTransport;
  routerSlot: number;
  /** The process id of the worker it runs on. */
  workerPid: number;
  context: RouterContext;
  onClose: (router: MediasoupRouter) => void;
}


export class MediasoupRouter extends TypedEmitter<SfuRouterEvents> implements SfuRouter {
  readonly sessionId: string;
  /** The process id of the mediasoup worker this router runs on. */
  readonly workerPid: number;
  readonly #router: ms.Router;
  readonly #plain: ms.PlainTransport;
  readonly #routerSlot: number;
  readonly #ctx: RouterContext;
  readonly #onClose: (router: MediasoupRouter) => void;
  readonly #producers = new Map<string, MediasoupProducer>();
  readonly #listeners = new Map<string, MediasoupListener>();
  #closed = false;

  constructor(init: MediasoupRouterInit) {
    super();
    this.sessionId = init.sessionId;
    this.workerPid = init.workerPid;
    this.#router = init.router;
    this.#plain = init.plain;
    this.#routerSlot = init.routerSlot;
    this.#ctx = init.context;
    this.#onClose = init.onClose;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async produce(options: ProduceOptions): Promise<SfuProducer> {
    this.#assertOpen();
    const { id, userId, ssrc, payloadType } = checkProduceOptions(options);
    const { ingest, producerIds } = this.#ctx;
    if (producerIds.has(id)) throw new IdInUseError(`producer ${id} exists`);
    // The route is taken at once (it also reserves the ssrc); RTP arriving before mediasoup's producer
    // exists is dropped by the PlainTransport, as RTP before any producer would be.
    if (ingest.isRouted(ssrc)) throw new SsrcInUseError(`ssrc ${ssrc} is produced already`);
    producerIds.add(id);
    ingest.route(ssrc, { routerSlot: this.#routerSlot, expectedPt: payloadType, outPt: PRODUCER_PAYLOAD_TYPE });
    let producer: ms.Producer;
    try {
      producer = await this.#plain.produce({
        kind: 'audio',
        rtpParameters: {
          codecs: [{ mimeType: 'audio/opus', clockRate: 48_000, channels: 2, payloadType: PRODUCER_PAYLOAD_TYPE }],
          encodings: [{ ssrc }],
        },
        appData: { producerId: id, userId },
      });
    } catch (error) {
      ingest.unroute(ssrc);
      producerIds.delete(id);
      this.#assertOpen();
      throw new SfuError(`mediasoup refused the producer: ${(error as Error).message}`, { cause: error });
    }
    if (this.#closed) {
      producer.close();
      ingest.unroute(ssrc);
      producerIds.delete(id);
      this.#assertOpen();
    }
    const p = new MediasoupProducer({ id, sessionId: this.sessionId, userId, ssrc, payloadType, producer, ingest, onClose: (closed) => this.#producerClosed(closed) });
    this.#producers.set(id, p);
    return p;
  }

  producer(producerId: string): SfuProducer | undefined {
    return this.#producers.get(producerId);
  }

  producers(): SfuProducer[] {
    return [...this.#producers.values()];
  }

  async createListener(listenerId: string = randomUUID()): Promise<SfuListener> {
    this.#assertOpen();
    if (typeof listenerId !== 'string' || listenerId.length === 0) throw new SfuError('listener id must be a non-empty string', { code: 'schema' });
    const { listenerIds } = this.#ctx;
    if (listenerIds.has(listenerId)) throw new IdInUseError(`listener ${listenerId} exists`);
    listenerIds.add(listenerId);
    let transport: ms.WebRtcTransport;
    try {
      transport = await this.#router.createWebRtcTransport(this.#ctx.webRtcTransportOptions());
    } catch (error) {
      listenerIds.delete(listenerId);
      this.#assertOpen();
      throw new SfuError(`mediasoup could not create the transport: ${(error as Error).message}`, { cause: error });
    }
    if (this.#closed) {
      transport.close();
      listenerIds.delete(listenerId);
      this.#assertOpen();
    }
    const listener = new MediasoupListener({
      id: listenerId,
      sessionId: this.sessionId,
      transport,
      router: this.#router,
      producers: () => this.#producers,
      onClose: (l) => {
        this.#listeners.delete(l.id);
        listenerIds.delete(l.id);
      },
    });
    this.#listeners.set(listenerId, listener);
    return listener;
  }

  listener(listenerId: string): SfuListener | undefined {
    return this.#listeners.get(listenerId);
  }

  listeners(): SfuListener[] {
    return [...this.#listeners.values()];
  }

  /** Closes listeners, then producers, then mediasoup's router and the forwarding socket. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const listener of [...this.#listeners.values()]) listener.close();
    for (const producer of [...this.#producers.values()]) producer.close();
    this.#router.close();
    this.#ctx.ingest.closeRouter(this.#routerSlot);
    this.#onClose(this);
    this.emit('close');
  }

  #producerClosed(producer: SfuProducer): void {
    this.#producers.delete(producer.id);
    this.#ctx.producerIds.delete(producer.id);
    if (this.#closed) return;
    for (const listener of this.#listeners.values()) listener.handleProducerClose(producer.id);
  }

  #assertOpen(): void {
    if (this.#closed) throw new InvalidStateError(`router ${this.sessionId} is closed`);
  }
}
