/**
 * The `mediasoup` media session: one mediasoup-client `Device` and its receive transport, one
 * consumer per speaker. Per offer, as the driver documents it:
 * 1. a new `transport.id`: `device.load({ routerRtpCapabilities })` (once per Device), then
 *    `device.createRecvTransport(transport)`; its `connect` event (during the first `consume`) gives
 *    the DTLS parameters, kept for the answer, and is acknowledged at once;
 * 2. `transport.consume()` for each offered consumer not consumed yet (in order), `close()` for the
 *    local ones the offer no longer lists;
 * 3. the answer: `{ revision, rtpCapabilities, dtlsParameters }`.
 * The Device comes from `createDevice`, so mediasoup-client is loaded only when a mediasoup offer
 * arrives (see `browser-device.ts`) and tests can pass a fake one.
 */
import type { ConnectionState, ConsumerOptions, DtlsParameters, RtpCapabilities, RtpParameters, TransportOptions } from 'mediasoup-client/types';
import { InvalidStateError, UnsupportedError } from '../../errors.ts';
import type { MediaConnectionState, MediaSession, OnReceiver } from '../media-session.ts';
import type { OfferedTrack, SpeakerTrack } from '../mids.ts';
import type { JsonObject, MediaAnswer, MediasoupOffer, MediasoupTransportInfo, SfuOffer } from '../offer.ts';
import { mapConsumerTracks, planConsumers } from './consumers.ts';

/** The part of mediasoup-client's `Consumer` used here. */
export interface MediasoupConsumer {
  readonly id: string;
  readonly closed: boolean;
  readonly track: MediaStreamTrack;
  /** The browser receiver under it (mediasoup-client's `Consumer.rtpReceiver`). */
  readonly rtpReceiver?: RTCRtpReceiver;
  close(): void;
}

/** The part of mediasoup-client's receive `Transport` used here. */
export interface MediasoupRecvTransport {
  readonly id: string;
  readonly closed: boolean;
  on(event: 'connect', listener: (params: { dtlsParameters: DtlsParameters }, callback: () => void, errback: (error: Error) => void) => void): unknown;
  on(event: 'connectionstatechange', listener: (state: ConnectionState) => void): unknown;
  consume(options: ConsumerOptions): Promise<MediasoupConsumer>;
  close(): void;
}

/** The part of mediasoup-client's `Device` used here. */
export interface MediasoupDevice {
  readonly loaded: boolean;
  readonly recvRtpCapabilities: RtpCapabilities;
  load(options: { routerRtpCapabilities: RtpCapabilities }): Promise<void>;
  createRecvTransport(options: TransportOptions): MediasoupRecvTransport;
}

export interface MediasoupSessionDeps {
  /** A new Device (`new Device()` in the browser); called once, on the first offer. */
  createDevice: () => Promise<MediasoupDevice>;
  /** Told of each new consumer's receiver (before the transport connects, for the first ones). */
  onReceiver?: OnReceiver;
}

interface LocalConsumer {
  consumer: MediasoupConsumer;
  mid: string;
}

// mediasoup defines these objects and mediasoup-client checks them; the console passes them through.
const as = <T>(json: JsonObject | JsonObject[]): T => json as unknown as T;

export function createMediasoupSession(deps: MediasoupSessionDeps): MediaSession {
  return new MediasoupSession(deps);
}

class MediasoupSession implements MediaSession {
  readonly kind = 'mediasoup' as const;
  onstatechange: ((state: MediaConnectionState) => void) | null = null;
  readonly #deps: MediasoupSessionDeps;
  #device: MediasoupDevice | undefined;
  #transport: MediasoupRecvTransport | undefined;
  #dtlsParameters: DtlsParameters | undefined;
  /** By server-side consumer id. */
  readonly #consumers = new Map<string, LocalConsumer>();
  #offered: OfferedTrack[] = [];
  #state: MediaConnectionState = 'new';
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(deps: MediasoupSessionDeps) {
    this.#deps = deps;
  }

  get connectionState(): MediaConnectionState {
    return this.#state;
  }

  apply(offer: SfuOffer): Promise<MediaAnswer | null> {
    const run = this.#queue.then(() => {
      if (offer.kind !== 'mediasoup') throw new UnsupportedError(`a mediasoup session cannot take an ${offer.kind} offer`);
      return this.#apply(offer);
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  tracks(): SpeakerTrack<MediaStreamTrack>[] {
    if (this.#closed) return [];
    const views = [...this.#consumers.values()].map((c) => ({ mid: c.mid, closed: c.consumer.closed, track: c.consumer.track }));
    const receivers = new Map([...this.#consumers.values()].map((c) => [c.mid, c.consumer.rtpReceiver]));
    return mapConsumerTracks(views, this.#offered).map((s) => ({ ...s, receiver: receivers.get(s.mid) }));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onstatechange = null;
    this.#transport?.close(); // closes its consumers and stops their tracks
    this.#transport = undefined;
    this.#consumers.clear();
  }

  async #apply(offer: MediasoupOffer): Promise<MediaAnswer | null> {
    this.#assertOpen();
    const device = await this.#loadedDevice(offer);
    if (this.#transport?.id !== offer.transport.id) this.#openTransport(device, offer.transport);
    const transport = this.#transport!;

    const plan = planConsumers(this.#consumers.keys(), offer.consumers);
    for (const id of plan.close) {
      this.#consumers.get(id)?.consumer.close();
      this.#consumers.delete(id);
    }
    // Issued together, in order: mediasoup-client creates them in one local renegotiation.
    const results = await Promise.allSettled(
      plan.consume.map((c) => transport.consume({ id: c.id, producerId: c.producerId, kind: c.kind, rtpParameters: as<RtpParameters>(c.rtpParameters) })),
    );
    let failure: unknown;
    results.forEach((r, i) => {
      const info = plan.consume[i]!;
      if (r.status === 'rejected') failure ??= r.reason;
      else if (this.#closed || this.#transport !== transport) r.value.close();
      else {
        this.#consumers.set(info.id, { consumer: r.value, mid: info.rtpParameters.mid });
        const user = offer.tracks.find((t) => t.mid === info.rtpParameters.mid)?.user_id;
        if (user !== undefined && r.value.rtpReceiver) this.#deps.onReceiver?.(user, info.rtpParameters.mid, r.value.rtpReceiver);
      }
    });
    this.#assertOpen();
    if (failure !== undefined) throw failure;
    this.#offered = offer.tracks;

    // No consumer yet, so no `connect` event: there are no DTLS parameters to answer with.
    if (!this.#dtlsParameters) return null;
    return {
      kind: 'mediasoup',
      revision: offer.revision,
      rtpCapabilities: device.recvRtpCapabilities as unknown as JsonObject,
      // Sent with every answer: required until the transport is connected, ignored afterwards.
      dtlsParameters: this.#dtlsParameters as unknown as JsonObject,
    };
  }

  async #loadedDevice(offer: MediasoupOffer): Promise<MediasoupDevice> {
    if (!this.#device) {
      let device: MediasoupDevice;
      try {
        device = await this.#deps.createDevice();
      } catch (error) {
        if ((error as { name?: unknown } | null)?.name === 'UnsupportedError') {
          throw new UnsupportedError(`this browser cannot receive mediasoup audio: ${(error as Error).message}`, { cause: error });
        }
        throw error;
      }
      this.#assertOpen();
      this.#device = device;
    }
    const device = this.#device;
    if (!device.loaded) {
      await device.load({ routerRtpCapabilities: as<RtpCapabilities>(offer.routerRtpCapabilities) });
      this.#assertOpen();
    }
    return device;
  }

  /** A new receive transport (the first offer, or one naming another transport): the old one goes. */
  #openTransport(device: MediasoupDevice, info: MediasoupTransportInfo): void {
    this.#transport?.close();
    this.#consumers.clear();
    this.#dtlsParameters = undefined;
    this.#state = 'new';
    const transport = device.createRecvTransport({
      id: info.id,
      iceParameters: as<TransportOptions['iceParameters']>(info.iceParameters),
      iceCandidates: as<TransportOptions['iceCandidates']>(info.iceCandidates),
      dtlsParameters: as<DtlsParameters>(info.dtlsParameters),
      // No ICE servers: the SFU is reachable directly and offers its candidates.
      iceServers: [],
    });
    this.#transport = transport;
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      if (this.#closed || this.#transport !== transport) {
        errback(new InvalidStateError('the mediasoup session is closed'));
        return;
      }
      this.#dtlsParameters = dtlsParameters; // sent with the answer; the server connects then
      callback();
    });
    transport.on('connectionstatechange', (state) => {
      if (this.#closed || this.#transport !== transport || state === this.#state) return;
      this.#state = state;
      this.onstatechange?.(state);
    });
  }

  #assertOpen(): void {
    if (this.#closed) throw new InvalidStateError('the mediasoup session is closed');
  }
}
