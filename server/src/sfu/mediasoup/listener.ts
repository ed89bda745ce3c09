/**
 * A listener: one mediasoup WebRtcTransport (the browser's receive transport) and one consumer per
 * producer it receives. The server offers (transport and consumer parameters), the browser answers
 * (its DTLS parameters once, its RTP capabilities). The connection state is derived from the
 * transport's ICE and DTLS states; a failed or closed connection closes the listener.
 */
import type { types as ms } from 'mediasoup';
import { z } from 'zod';
import { InvalidStateError, SfuError } from '../errors.ts';
import { ListenerBase, type ListenerIdentity } from '../listener-base.ts';
import type { MediasoupJson, SfuAnswer, SfuConnectionState, SfuMediasoupConsumer, SfuMediasoupOffer } from '../types.ts';
import type { MediasoupProducer } from './producer.ts';

const Fingerprint = z.object({ algorithm: z.string().min(1).max(16), value: z.string().min(1).max(256) });
const MediasoupAnswer = z.object({
  kind: z.literal('mediasoup'),
  revision: z.number().int().nonnegative(),
  rtpCapabilities: z.looseObject({ codecs: z.array(z.looseObject({})).max(256).optional(), headerExtensions: z.array(z.looseObject({})).max(256).optional() }),
  dtlsParameters: z
    .looseObject({ role: z.enum(['auto', 'client', 'server']).optional(), fingerprints: z.array(Fingerprint).min(1).max(8) })
    .optional(),
});

export interface MediasoupListenerInit extends ListenerIdentity {
  transport: ms.WebRtcTransport;
  router: ms.Router;
  /** The open producers of this listener's router. */
  producers: () => ReadonlyMap<string, MediasoupProducer>;
}

/** The browser's state as the transport sees it. */
function connectionState(ice: ms.IceState, dtls: ms.DtlsState): SfuConnectionState {
  if (dtls === 'failed') return 'failed';
  if (dtls === 'closed' || ice === 'closed') return 'closed';
  if (ice === 'disconnected') return 'disconnected';
  if ((ice === 'connected' || ice === 'completed') && dtls === 'connected') return 'connected';
  if (ice === 'new' && dtls === 'new') return 'new';
  return 'connecting';
}

export class MediasoupListener extends ListenerBase<SfuMediasoupOffer> {
  readonly #transport: ms.WebRtcTransport;
  readonly #router: ms.Router;
  readonly #producers: () => ReadonlyMap<string, MediasoupProducer>;
  /** By our producer id, in the order of the last offer. */
  #consumers = new Map<string, ms.Consumer>();
  #revision = 0;
  /** The revision of the offer that awaits its answer. */
  #pending: number | undefined;
  #dtlsConnected = false;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(init: MediasoupListenerInit) {
    super(init);
    this.#transport = init.transport;
    this.#router = init.router;
    this.#producers = init.producers;
    const update = (): void => this.setConnectionState(connectionState(this.#transport.iceState, this.#transport.dtlsState));
    this.#transport.on('icestatechange', update);
    this.#transport.on('dtlsstatechange', update);
  }

  /** Serialized: a call made while an earlier one runs waits for it. */
  protected offer(producerIds: readonly string[]): Promise<SfuMediasoupOffer> {
    const run = this.#queue.then(() => this.#setProducers([...new Set(producerIds)]));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #setProducers(wanted: string[]): Promise<SfuMediasoupOffer> {
    this.assertOpen();
    const open = this.#producers();
    const skipped = wanted.filter((id) => !open.get(id) || open.get(id)!.closed);
    const chosen = wanted.filter((id) => !skipped.includes(id));
    const next = new Map<string, ms.Consumer>();
    try {
      for (const id of chosen) {
        let consumer = this.#consumers.get(id);
        if (!consumer || consumer.closed) {
          consumer = await this.#transport.consume({ producerId: open.get(id)!.producer.id, rtpCapabilities: this.#router.rtpCapabilities });
          consumer.on('producerclose', () => {
            if (this.#consumers.get(id) === consumer) this.#consumers.delete(id);
          });
        }
        next.set(id, consumer);
        this.assertOpen();
      }
    } catch (error) {
      for (const [id, consumer] of next) if (this.#consumers.get(id) !== consumer) consumer.close();
      throw error instanceof InvalidStateError ? error : new SfuError(`cannot consume: ${(error as Error).message}`, { cause: error });
    }
    for (const [id, consumer] of this.#consumers) if (next.get(id) !== consumer) consumer.close();
    this.#consumers = next;
    const consumers: SfuMediasoupConsumer[] = chosen.map((id) => {
      const c = next.get(id)!;
      return { id: c.id, producerId: id, kind: 'audio', rtpParameters: json(c.rtpParameters), userId: open.get(id)!.userId };
    });
    this.setTracks(consumers.map((c) => ({ mid: String(c.rtpParameters.mid), producerId: c.producerId, userId: c.userId })));
    this.#pending = ++this.#revision;
    const t = this.#transport;
    return {
      kind: 'mediasoup',
      revision: this.#revision,
      routerRtpCapabilities: json(this.#router.rtpCapabilities),
      transport: { id: t.id, iceParameters: json(t.iceParameters), iceCandidates: t.iceCandidates.map(json), dtlsParameters: json(t.dtlsParameters) },
      consumers,
      tracks: this.tracks(),
      skipped,
    };
  }

  async answer(answer: string | SfuAnswer): Promise<void> {
    this.assertOpen();
    if (this.#pending === undefined) throw new InvalidStateError(`listener ${this.id}: no offer awaits an answer`);
    const parsed = MediasoupAnswer.safeParse(answer);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new SfuError(`the mediasoup driver takes { kind: "mediasoup", revision, rtpCapabilities, dtlsParameters }: ${issue.path.join('.') || 'answer'}: ${issue.message}`, { code: 'schema' });
    }
    const { revision, rtpCapabilities, dtlsParameters } = parsed.data;
    if (revision !== this.#pending) throw new InvalidStateError(`listener ${this.id}: the answer is for offer ${revision}, offer ${this.#pending} replaced it`);
    for (const [producerId, consumer] of this.#consumers) {
      if (!canConsume(this.#router, consumer.producerId, rtpCapabilities)) {
        throw new SfuError(`the browser cannot receive producer ${producerId} (no Opus in its RTP capabilities)`, { code: 'schema' });
      }
    }
    if (!this.#dtlsConnected) {
      if (!dtlsParameters) throw new SfuError('the first answer must carry dtlsParameters (from the transport\'s connect event)', { code: 'schema' });
      try {
        await this.#transport.connect({ dtlsParameters: dtlsParameters as unknown as ms.DtlsParameters });
      } catch (error) {
        this.assertOpen();
        throw new SfuError(`the DTLS parameters were refused: ${(error as Error).message}`, { cause: error, code: 'schema' });
      }
      this.#dtlsConnected = true;
    }
    this.assertOpen();
    if (this.#pending === revision) this.#pending = undefined;
  }

  protected release(): void {
    this.#transport.close();
    this.#consumers.clear();
  }

  protected override forgetProducer(producerId: string): void {
    this.#consumers.delete(producerId);
  }
}

function canConsume(router: ms.Router, producerId: string, rtpCapabilities: MediasoupJson): boolean {
  try {
    return router.canConsume({ producerId, rtpCapabilities: rtpCapabilities as unknown as ms.RtpCapabilities });
  } catch {
    return false;
  }
}

/** A plain JSON copy of one of mediasoup's parameter objects (what crosses HTTP to the browser). */
function json(value: object): MediasoupJson {
  return JSON.parse(JSON.stringify(value)) as MediasoupJson;
}
