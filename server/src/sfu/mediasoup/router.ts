/**
 * A router (one voice session) on one mediasoup worker: a mediasoup Router, its PlainTransport fed by
 * the ingest thread, the producers on it and one WebRtcTransport per listener.
 */
import type { types as ms } from 'mediasoup';
import { SfuError, SsrcInUseError } from '../errors.ts';
import type { CheckedProduceOptions } from '../producer-base.ts';
import { RouterBase, type RouterIdentity } from '../router-base.ts';
import type { Ingest } from './ingest.ts';
import { MediasoupListener } from './listener.ts';
import { MediasoupProducer } from './producer.ts';

/** The one codec: Opus as Discord sends it. */
export const MEDIA_CODECS: ms.RtpCodecCapability[] = [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48_000, channels: 2 }];

/** The payload type of every mediasoup producer; the ingest writes it into each packet it forwards. */
export const PRODUCER_PAYLOAD_TYPE = 111;

/** What a router needs from its Sfu. */
export interface RouterContext {
  ingest: Ingest;
  /** `createWebRtcTransport()` options: where listeners' transports listen. */
  webRtcTransportOptions: () => ms.WebRtcTransportOptions;
}

export interface MediasoupRouterInit extends RouterIdentity {
  router: ms.Router;
  plain: ms.PlainTransport;
  routerSlot: number;
  /** The process id of the worker it runs on. */
  workerPid: number;
  context: RouterContext;
}

/** Closing it closes its listeners and producers one by one (each producer must leave the ingest's table). */
export class MediasoupRouter extends RouterBase<MediasoupProducer, MediasoupListener> {
  /** The process id of the mediasoup worker this router runs on. */
  readonly workerPid: number;
  readonly #router: ms.Router;
  readonly #plain: ms.PlainTransport;
  readonly #routerSlot: number;
  readonly #ctx: RouterContext;

  constructor(init: MediasoupRouterInit) {
    super(init, true);
    this.workerPid = init.workerPid;
    this.#router = init.router;
    this.#plain = init.plain;
    this.#routerSlot = init.routerSlot;
    this.#ctx = init.context;
  }

  protected async openProducer(options: CheckedProduceOptions, onClose: () => void): Promise<MediasoupProducer> {
    const { ssrc } = options;
    const { ingest } = this.#ctx;
    // The route is taken at once (it also reserves the ssrc); RTP arriving before mediasoup's producer
    // exists is dropped by the PlainTransport, as RTP before any producer would be.
    if (ingest.isRouted(ssrc)) throw new SsrcInUseError(`ssrc ${ssrc} is produced already`);
    ingest.route(ssrc, { routerSlot: this.#routerSlot, expectedPt: options.payloadType, outPt: PRODUCER_PAYLOAD_TYPE });
    let producer: ms.Producer;
    try {
      producer = await this.#plain.produce({
        kind: 'audio',
        rtpParameters: {
          codecs: [{ mimeType: 'audio/opus', clockRate: 48_000, channels: 2, payloadType: PRODUCER_PAYLOAD_TYPE }],
          encodings: [{ ssrc }],
        },
        appData: { producerId: options.id, userId: options.userId },
      });
    } catch (error) {
      ingest.unroute(ssrc);
      throw new SfuError(`mediasoup refused the producer: ${(error as Error).message}`, { cause: error });
    }
    return new MediasoupProducer({ ...options, sessionId: this.sessionId, producer, ingest, onClose });
  }

  protected async openListener(listenerId: string, onClose: () => void): Promise<MediasoupListener> {
    let transport: ms.WebRtcTransport;
    try {
      transport = await this.#router.createWebRtcTransport(this.#ctx.webRtcTransportOptions());
    } catch (error) {
      throw new SfuError(`mediasoup could not create the transport: ${(error as Error).message}`, { cause: error });
    }
    return new MediasoupListener({ id: listenerId, sessionId: this.sessionId, transport, router: this.#router, producers: () => this.producerMap(), onClose });
  }

  /** mediasoup's router, then the forwarding socket (its producers left the ingest's table already). */
  protected release(): void {
    this.#router.close();
    this.#ctx.ingest.closeRouter(this.#routerSlot);
  }
}
