/**
 * The SFU's offers and the page's answers, one member per handshake (the offer's `kind`):
 *
 * - `sdp` (werift): a complete, non-trickle SDP offer; the answer is the local SDP.
 * - `mediasoup`: mediasoup-client's parameters (router RTP capabilities, one receive transport, one
 *   consumer per speaker); the answer is `{ revision, rtpCapabilities, dtlsParameters }`.
 *
 * Both list `tracks: [{ mid, producer_id, user_id }]`, the full set of speakers on the connection.
 * Offers are checked here, once; an offer of another kind is refused with a clear error.
 */
import { ApiError } from '../errors.ts';
import { parseOfferedTracks, type OfferedTrack } from './mids.ts';

export type OfferKind = 'sdp' | 'mediasoup';

export const OFFER_KINDS: readonly OfferKind[] = ['sdp', 'mediasoup'];

/** A JSON object defined by mediasoup and read by mediasoup-client; passed through untouched. */
export type JsonObject = { [key: string]: unknown };

export interface SdpOffer {
  kind: 'sdp';
  sdp: string;
  tracks: OfferedTrack[];
}

/** One server-side consumer: what `transport.consume()` takes, plus whose audio it carries. */
export interface MediasoupConsumerInfo {
  id: string;
  producerId: string;
  kind: 'audio';
  /** Its `mid` is the track's mid. */
  rtpParameters: JsonObject & { mid: string };
  userId: string;
}

export interface MediasoupTransportInfo {
  /** The same on every offer of one listener. */
  id: string;
  iceParameters: JsonObject;
  iceCandidates: JsonObject[];
  dtlsParameters: JsonObject;
}

export interface MediasoupOffer {
  kind: 'mediasoup';
  /** Grows with every offer of a listener; the answer repeats it. */
  revision: number;
  routerRtpCapabilities: JsonObject;
  transport: MediasoupTransportInfo;
  /** One per entry of `tracks`, same order. */
  consumers: MediasoupConsumerInfo[];
  tracks: OfferedTrack[];
}

export type SfuOffer = SdpOffer | MediasoupOffer;

export type ListenOffer = SfuOffer & { listener_id: string };

export interface SdpAnswer {
  kind: 'sdp';
  sdp: string;
}

export interface MediasoupAnswer {
  kind: 'mediasoup';
  /** The revision of the offer this answers. */
  revision: number;
  /** The device's receive RTP capabilities. */
  rtpCapabilities: JsonObject;
  /** From the receive transport's `connect` event; required until the transport is connected. */
  dtlsParameters?: JsonObject;
}

export type MediaAnswer = SdpAnswer | MediasoupAnswer;

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** Checks an offer body (`POST /api/sfu/listen` or `…/producers`); `path` names the call in errors. */
export function parseOffer(body: unknown, path: string): SfuOffer {
  const b = isObject(body) ? body : {};
  // Servers from before the mediasoup driver may leave `kind` out: that is an SDP offer.
  const kind = b.kind ?? 'sdp';
  if (kind === 'sdp') return parseSdpOffer(b, path);
  if (kind === 'mediasoup') return parseMediasoupOffer(b, path);
  throw new ApiError(200, 'unsupported_offer', `${path} answered with an offer of kind ${JSON.stringify(kind)}; this console takes ${OFFER_KINDS.join(' or ')}`);
}

function parseSdpOffer(b: JsonObject, path: string): SdpOffer {
  if (typeof b.sdp !== 'string') throw new ApiError(200, 'bad_response', `${path} did not answer with an SDP offer`);
  return { kind: 'sdp', sdp: b.sdp, tracks: parseOfferedTracks(b.tracks) };
}

function parseMediasoupOffer(b: JsonObject, path: string): MediasoupOffer {
  const bad = (what: string) => new ApiError(200, 'bad_response', `${path} answered with a mediasoup offer whose ${what}`);
  const { revision, routerRtpCapabilities, transport: t } = b;
  if (typeof revision !== 'number' || !Number.isInteger(revision) || revision < 0) throw bad('revision is not a whole number');
  if (!isObject(routerRtpCapabilities)) throw bad('routerRtpCapabilities is not an object');
  if (!isObject(t) || !isId(t.id)) throw bad('transport has no id');
  if (!isObject(t.iceParameters) || !isObject(t.dtlsParameters)) throw bad('transport lacks iceParameters or dtlsParameters');
  if (!Array.isArray(t.iceCandidates) || !t.iceCandidates.every(isObject)) throw bad('transport.iceCandidates is not a list of objects');
  if (!Array.isArray(b.consumers)) throw bad('consumers is not a list');
  const consumers = b.consumers.map((c: unknown, i): MediasoupConsumerInfo => {
    if (!isObject(c) || !isId(c.id) || !isId(c.producerId) || !isId(c.userId)) throw bad(`consumer ${i} lacks id, producerId or userId`);
    if (c.kind !== 'audio') throw bad(`consumer ${i} is not audio`);
    const rtp = c.rtpParameters;
    if (!isObject(rtp) || !isId(rtp.mid)) throw bad(`consumer ${i} has no rtpParameters.mid`);
    return { id: c.id, producerId: c.producerId, kind: 'audio', rtpParameters: { ...rtp, mid: rtp.mid }, userId: c.userId };
  });
  const tracks = parseOfferedTracks(b.tracks);
  if (tracks.length !== consumers.length) throw bad(`${consumers.length} consumers do not match its ${tracks.length} tracks`);
  tracks.forEach((tr, i) => {
    const c = consumers[i]!;
    if (tr.mid !== c.rtpParameters.mid || tr.user_id !== c.userId) throw bad(`consumer ${i} (mid ${c.rtpParameters.mid}, user ${c.userId}) is not track ${i} (mid ${tr.mid}, user ${tr.user_id})`);
  });
  if (new Set(consumers.map((c) => c.id)).size !== consumers.length) throw bad('consumer ids repeat');
  return {
    kind: 'mediasoup',
    revision,
    routerRtpCapabilities,
    transport: { id: t.id, iceParameters: t.iceParameters, iceCandidates: t.iceCandidates, dtlsParameters: t.dtlsParameters },
    consumers,
    tracks,
  };
}

/** The body of `POST /api/sfu/listeners/:id/answer`: `{ sdp }` for SDP (as before), the mediasoup answer as is. */
export function answerBody(answer: MediaAnswer): JsonObject {
  if (answer.kind === 'sdp') return { sdp: answer.sdp };
  return {
    kind: 'mediasoup',
    revision: answer.revision,
    rtpCapabilities: answer.rtpCapabilities,
    ...(answer.dtlsParameters ? { dtlsParameters: answer.dtlsParameters } : {}),
  };
}
