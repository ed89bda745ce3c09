/**
 * The SFU interface. A driver (werift, mediasoup) implements it; the hub's signalling routes
 * and workers depend only on these types. Lifecycle follows mediasoup: a parent creates and tracks its
 * children, `close()` is idempotent and cascades, using a closed object throws `InvalidStateError`.
 *
 * Sfu ─┬─ SfuRouter (one per voice session) ─┬─ SfuProducer (one per speaker, fed by plain RTP)
 *      │                                     └─ SfuListener (one per browser, the server offers)
 *      └─ ingest: one UDP port; producers' RTP arrives there and is demultiplexed by ssrc
 */

/** Which implementation runs the media. */
export type SfuDriverName = 'werift' | 'mediasoup';

/** A listener's peer connection state (the values of the browser's `RTCPeerConnectionState`). */
export type SfuConnectionState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

/** Where producers' RTP is sent (plain RTP over UDP, no encryption). */
export interface SfuIngestAddress {
  host: string;
  port: number;
}

/** Counters of the ingest socket, over the Sfu's lifetime. */
export interface SfuIngestStats {
  /** Datagrams that reached a producer. */
  packets: number;
  /** Bytes of those datagrams (RTP header included). */
  bytes: number;
  /** Well-formed RTP whose ssrc no open producer owns (dropped). */
  unknownSsrc: number;
  /** Datagrams that are not RTP version 2 or whose header does not fit (dropped). */
  malformed: number;
  /** RTCP datagrams (payload types 72–76 with the marker bit, RFC 5761); dropped, the ingest is one-way. */
  rtcp: number;
  /** RTP whose payload type differs from the one its producer was created with (dropped). */
  wrongPayloadType: number;
}

/** Counters of one producer. */
export interface SfuProducerStats {
  /** RTP packets received on the ingest for this producer. */
  packets: number;
  /** Bytes of those datagrams (RTP header included). */
  bytes: number;
  /** Wall-clock time of the last packet, ms since the epoch; `null` before the first. For display only. */
  lastPacketAt: number | null;
}

/** One m-line of an offer: which producer's audio it carries. */
export interface SfuTrackInfo {
  /** The m-line's `a=mid` (the browser's `RTCRtpTransceiver.mid`). */
  mid: string;
  producerId: string;
  userId: string;
}

/** What every offer carries, whatever the driver. */
export interface SfuOfferBase {
  /** The producers this listener now receives, one entry per active m-line. */
  tracks: SfuTrackInfo[];
  /** Producer ids passed to `setProducers()` that are not open producers of this router (closed meanwhile, or never existed). */
  skipped: string[];
}

/**
 * The server's offer for the browser, a tagged union: one member per handshake.
 *
 * - `sdp` (werift): a complete, non-trickle SDP offer (ICE candidates included); the browser calls
 *   `setRemoteDescription({ type: 'offer', sdp })`, `createAnswer()`, `setLocalDescription()`, and
 *   sends back `localDescription.sdp` once its ICE gathering is complete.
 * - `mediasoup`: the parameters mediasoup-client needs, see {@link SfuMediasoupOffer}.
 */
export type SfuOffer = SfuSdpOffer | SfuMediasoupOffer;

export type SfuSdpOffer = SfuOfferBase & { kind: 'sdp'; sdp: string };

/** A JSON object that mediasoup defines and mediasoup-client reads; the hub passes it through untouched. */
export type MediasoupJson = { [key: string]: unknown };

/**
 * The mediasoup driver's offer: one receive transport per listener, one consumer per producer.
 * The browser (mediasoup-client's `Device`):
 * 1. the first time it sees `transport.id`: `device.load({ routerRtpCapabilities })` (once per
 *    Device), then `device.createRecvTransport(transport)`, and listens to the transport's `connect`
 *    event, which gives `dtlsParameters` (answer them by calling its callback at once);
 * 2. `transport.consume(consumer)` for every consumer id it does not have yet (in order), and
 *    `close()` on its consumers whose id is no longer listed; each consumer's track is a speaker
 *    (`consumer.rtpParameters.mid` is the track's `mid`);
 * 3. answers with `{ kind: 'mediasoup', revision, rtpCapabilities: device.rtpCapabilities,
 *    dtlsParameters }` (`dtlsParameters` from step 1; required until the transport is connected,
 *    ignored afterwards).
 * A newer offer (a higher `revision`) replaces one not yet answered; an answer to it is refused.
 */
export type SfuMediasoupOffer = SfuOfferBase & {
  kind: 'mediasoup';
  /** Increases with every offer of this listener; the answer repeats it. */
  revision: number;
  /** For `device.load()`. */
  routerRtpCapabilities: MediasoupJson;
  /** For `device.createRecvTransport()`: the same on every offer of a listener. */
  transport: {
    id: string;
    iceParameters: MediasoupJson;
    iceCandidates: MediasoupJson[];
    dtlsParameters: MediasoupJson;
  };
  /** For `transport.consume()`, one per entry of `tracks`, in the same order. */
  consumers: SfuMediasoupConsumer[];
};

export interface SfuMediasoupConsumer {
  /** The server-side consumer's id. */
  id: string;
  /** The producer (speaker) it carries: an `SfuProducer` id. */
  producerId: string;
  kind: 'audio';
  /** Its `mid` is the track's `mid`. */
  rtpParameters: MediasoupJson;
  userId: string;
}

/** The browser's answer. A bare string means `{ kind: 'sdp', sdp }`. */
export type SfuAnswer = SfuSdpAnswer | SfuMediasoupAnswer;

export type SfuSdpAnswer = { kind: 'sdp'; sdp: string };

/** The answer to an {@link SfuMediasoupOffer}. */
export interface SfuMediasoupAnswer {
  kind: 'mediasoup';
  /** The `revision` of the offer this answers. */
  revision: number;
  /** `device.rtpCapabilities`: checked against every consumer (the browser must be able to decode Opus). */
  rtpCapabilities: MediasoupJson;
  /** From the receive transport's `connect` event; required until the transport is connected. */
  dtlsParameters?: MediasoupJson | undefined;
}

export interface ProduceOptions {
  /** Defaults to a random UUID. Unique within the Sfu. */
  producerId?: string;
  /** The speaker (Discord user id). */
  userId: string;
  /** The ssrc of the RTP this producer's packets arrive with on the ingest. Unique within the Sfu. */
  ssrc: number;
  /** When set, packets with another payload type are dropped and counted. Default: any. */
  payloadType?: number;
}

/** Listener signature of an event given as a tuple. */
export type Handler<A extends unknown[]> = (...args: A) => void;

/** Typed `on` / `off` / `once` over an event map of tuples. */
export interface Evented<E extends Record<string, unknown[]>> {
  on<K extends keyof E>(event: K, listener: Handler<E[K]>): this;
  off<K extends keyof E>(event: K, listener: Handler<E[K]>): this;
  once<K extends keyof E>(event: K, listener: Handler<E[K]>): this;
}

export type SfuEvents = {
  /** The media process (or worker) died unexpectedly; every router has been closed. */
  died: [error: Error];
  /** The Sfu closed (after `close()` or after `died`). */
  close: [];
};

export type SfuRouterEvents = {
  close: [];
};

export type SfuProducerEvents = {
  close: [];
};

export type SfuListenerEvents = {
  connectionstatechange: [state: SfuConnectionState];
  /** A producer this listener receives was closed: its track went silent. Renegotiate to drop the m-line. */
  producerclose: [producerId: string];
  close: [];
};

export interface Sfu extends Evented<SfuEvents> {
  readonly driver: SfuDriverName;
  /** Where producers' RTP must be sent (UDP). */
  readonly ingest: SfuIngestAddress;
  readonly closed: boolean;
  /** Creates the router of a voice session. Rejects with `IdInUseError` if one exists. */
  createRouter(sessionId: string): Promise<SfuRouter>;
  /** The open router of a session. */
  router(sessionId: string): SfuRouter | undefined;
  /** Every open router. */
  routers(): SfuRouter[];
  /** Ingest counters (unknown ssrc, malformed datagrams, …). */
  stats(): Promise<SfuIngestStats>;
  /** Closes every router, then the media process. Idempotent; resolves when the media process is gone. */
  close(): Promise<void>;
}

export interface SfuRouter extends Evented<SfuRouterEvents> {
  readonly sessionId: string;
  readonly closed: boolean;
  /**
   * A producer for one speaker. Rejects with `SsrcInUseError` if another producer of the Sfu has
   * this ssrc, `IdInUseError` if the id is taken.
   */
  produce(options: ProduceOptions): Promise<SfuProducer>;
  producer(producerId: string): SfuProducer | undefined;
  producers(): SfuProducer[];
  /** A listener (one browser peer connection). Call `setProducers()` to get its first offer. */
  createListener(listenerId?: string): Promise<SfuListener>;
  listener(listenerId: string): SfuListener | undefined;
  listeners(): SfuListener[];
  /** Closes every producer and listener. Idempotent. */
  close(): void;
}

export interface SfuProducer extends Evented<SfuProducerEvents> {
  readonly id: string;
  readonly sessionId: string;
  readonly userId: string;
  readonly ssrc: number;
  readonly payloadType: number | undefined;
  readonly closed: boolean;
  stats(): Promise<SfuProducerStats>;
  /** Stops this producer's track on every listener and frees its ssrc. Idempotent. */
  close(): void;
}

export interface SfuListener extends Evented<SfuListenerEvents> {
  readonly id: string;
  readonly sessionId: string;
  readonly closed: boolean;
  readonly connectionState: SfuConnectionState;
  /**
   * Chooses the producers this listener receives (order kept, duplicates ignored) and returns a fresh
   * offer: one sendonly audio m-line per producer, reusing m-lines of producers no longer wanted;
   * m-lines of dropped producers become inactive (SDP; with mediasoup a producer's consumer keeps its
   * mid while wanted, a new one gets a new mid and the browser recycles closed m-lines itself). On a
   * connected listener this renegotiates without tearing the connection down. Calls are serialized; a call made while an earlier offer awaits its
   * answer replaces that offer (the earlier answer is then refused).
   */
  setProducers(producerIds: readonly string[]): Promise<SfuOffer>;
  /** Applies the browser's answer to the latest offer. Rejects with `InvalidStateError` if no offer awaits one. */
  answer(answer: string | SfuAnswer): Promise<void>;
  /** The producers carried by the last offer, by m-line. */
  tracks(): SfuTrackInfo[];
  /** Closes the peer connection. A listener whose connection fails closes itself. Idempotent. */
  close(): void;
}
