/**
 * mid → speaker. Every offer from the SFU lists `tracks: [{ mid, producer_id, user_id }]`, the full
 * set on the connection; a transceiver's negotiated `mid` says whose audio its receiver carries.
 */

export interface OfferedTrack {
  mid: string;
  producer_id: string;
  user_id: string;
}

/** What the mapping needs from an RTCRtpTransceiver. */
export interface TransceiverView<T = unknown> {
  mid: string | null;
  direction: string;
  currentDirection: string | null;
  track: T;
}

export interface SpeakerTrack<T = unknown> {
  user_id: string;
  mid: string;
  producer_id: string;
  track: T;
  /** The receiver that carries it, where the session knows one (encoded-frame capture for replay). */
  receiver?: RTCRtpReceiver;
}

/** Validates the `tracks` array of an SFU answer; entries without a string mid or user id are dropped. */
export function parseOfferedTracks(raw: unknown): OfferedTrack[] {
  if (!Array.isArray(raw)) return [];
  const out: OfferedTrack[] = [];
  for (const t of raw) {
    if (typeof t !== 'object' || t === null) continue;
    const { mid, producer_id, user_id } = t as Record<string, unknown>;
    if (typeof mid !== 'string' || typeof user_id !== 'string' || !mid || !user_id) continue;
    out.push({ mid, user_id, producer_id: typeof producer_id === 'string' ? producer_id : '' });
  }
  return out;
}

/** Receiving directions: the remote side sends on this transceiver. */
const RECEIVING = new Set(['recvonly', 'sendrecv']);

/**
 * The speakers' tracks on a connection: each offered mid matched to its transceiver, skipping
 * transceivers that no longer receive (dropped speakers are set inactive by a new offer, or stopped).
 * One track per speaker — the first offered wins if the SFU lists a user twice.
 */
export function mapTracks<T>(transceivers: readonly TransceiverView<T>[], offered: readonly OfferedTrack[]): SpeakerTrack<T>[] {
  const byMid = new Map<string, TransceiverView<T>>();
  for (const t of transceivers) if (t.mid !== null) byMid.set(t.mid, t);
  const out: SpeakerTrack<T>[] = [];
  const users = new Set<string>();
  for (const o of offered) {
    const t = byMid.get(o.mid);
    if (!t || users.has(o.user_id)) continue;
    const direction = t.currentDirection ?? t.direction;
    if (t.direction === 'stopped' || !RECEIVING.has(direction)) continue;
    users.add(o.user_id);
    out.push({ user_id: o.user_id, mid: o.mid, producer_id: o.producer_id, track: t.track });
  }
  return out;
}
