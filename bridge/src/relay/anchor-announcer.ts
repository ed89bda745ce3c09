/**
 * Announces where each relayed stream's outgoing RTP timestamps sit on the bridge's monotonic clock
 * (`voice.relay.anchor`), so a console can put what it receives from the SFU on the same clock as
 * `voice.audio.pcm` and the server's VAD.
 *
 * The PCM branch stamps each frame with `ts_monotonic_ns` (the jitter buffer's media clock) and its
 * Discord RTP timestamp; the relay knows which outgoing timestamp that input packet was sent with
 * (`SessionRelay.outgoing`). Each published frame is checked against the stream's last anchor: the
 * stream's first frame, a frame the last anchor predicts more than `toleranceNs` wrong (the relay
 * re-based a talk-spurt with wall-clock time, or the jitter buffer re-anchored), and a frame
 * `intervalMs` after the last anchor each announce a new one. Pure apart from the `publish` callback:
 * the caller passes times.
 */
import type { PayloadOf } from '@promethean/shared';

export type RelayAnchorPayload = PayloadOf<'voice.relay.anchor'>;

export interface RelayAnchorAnnouncerOptions {
  /** A stream's anchor is repeated this often (ms of its frames' clock) while frames flow. */
  intervalMs: number;
  /** A frame the last anchor maps this far off (ns) announces a new anchor. */
  toleranceNs: bigint;
  /**
   * Discontinuity anchors per stream: a bucket of `burst` that refills at `perSecond` (of the frames'
   * clock). Talk-spurts can follow each other closely; a stream whose mapping jitters on every frame
   * is still bounded.
   */
  discontinuities: { burst: number; perSecond: number };
  /** Streams tracked at most; the one heard least recently is forgotten first. */
  maxStreams: number;
}

export const defaultRelayAnchorAnnouncerOptions: RelayAnchorAnnouncerOptions = {
  intervalMs: 5000,
  toleranceNs: 1_000_000n,
  discontinuities: { burst: 8, perSecond: 2 },
  maxStreams: 1024,
};

/** One published PCM frame, as far as the clock goes. */
export interface AnchorFrame {
  sessionId: string;
  userId: string;
  /** The speaker's Discord ssrc and the frame's RTP timestamp (`voice.audio.pcm`'s `rtp`). */
  inSsrc: number;
  inTimestamp: number;
  /** The frame's `ts_monotonic_ns`. */
  tsMonotonicNs: bigint;
}

/** What the announcer needs from the relay: where a session's input packet went. */
export type OutgoingLookup = (sessionId: string, userId: string, inSsrc: number, inTs: number) => { ssrc: number; timestamp: number } | undefined;

interface Last {
  ssrc: number;
  rtp: number;
  ns: bigint;
  /** Discontinuity anchors left in the bucket, as of `ns`. */
  tokens: number;
}

const RATE = 48_000n;

export interface RelayAnchorCounters {
  /** Anchors published, by reason. */
  start: number;
  periodic: number;
  discontinuity: number;
  /** Frames no relayed packet covers (no stream, or older than the mappings kept). */
  unmapped: number;
  /** Publishing threw. */
  errors: number;
}

export class RelayAnchorAnnouncer {
  readonly options: RelayAnchorAnnouncerOptions;
  readonly counters: RelayAnchorCounters = { start: 0, periodic: 0, discontinuity: 0, unmapped: 0, errors: 0 };
  readonly #publish: (payload: RelayAnchorPayload) => void;
  readonly #lookup: OutgoingLookup;
  /** `session\u0000user` → the stream's last anchor (most recently heard last). */
  readonly #last = new Map<string, Last>();

  constructor(lookup: OutgoingLookup, publish: (payload: RelayAnchorPayload) => void, options: Partial<RelayAnchorAnnouncerOptions> = {}) {
    this.#lookup = lookup;
    this.#publish = publish;
    this.options = { ...defaultRelayAnchorAnnouncerOptions, ...options };
  }

  /** One PCM frame on its way to the bus. Never throws. */
  frame(f: AnchorFrame): void {
    const out = this.#lookup(f.sessionId, f.userId, f.inSsrc, f.inTimestamp);
    if (!out) {
      this.counters.unmapped++;
      return;
    }
    const key = `${f.sessionId}\u0000${f.userId}`;
    const last = this.#last.get(key);
    let reason: RelayAnchorPayload['reason'] | undefined;
    let tokensLeft = this.options.discontinuities.burst;
    if (!last || last.ssrc !== out.ssrc) reason = 'start';
    else {
      const sinceNs = f.tsMonotonicNs - last.ns;
      const predicted = last.ns + (BigInt((out.timestamp - last.rtp) | 0) * 1_000_000_000n) / RATE;
      const off = predicted > f.tsMonotonicNs ? predicted - f.tsMonotonicNs : f.tsMonotonicNs - predicted;
      const { burst, perSecond } = this.options.discontinuities;
      const tokens = Math.min(burst, last.tokens + (Number(sinceNs) / 1e9) * perSecond);
      if (off > this.options.toleranceNs && tokens >= 1) reason = 'discontinuity';
      else if (sinceNs >= msToNs(this.options.intervalMs)) reason = 'periodic';
      if (reason) tokensLeft = tokens - (reason === 'discontinuity' ? 1 : 0);
    }
    // Most recently heard last, so the first entry is the one to forget.
    this.#last.delete(key);
    if (!reason) {
      this.#last.set(key, last!);
      return;
    }
    this.#last.set(key, { ssrc: out.ssrc, rtp: out.timestamp, ns: f.tsMonotonicNs, tokens: tokensLeft });
    while (this.#last.size > this.options.maxStreams) this.#last.delete(this.#last.keys().next().value!);
    this.counters[reason]++;
    try {
      this.#publish({ session_id: f.sessionId, user_id: f.userId, ssrc: out.ssrc, rtp_timestamp: out.timestamp, ts_monotonic_ns: f.tsMonotonicNs.toString(), reason });
    } catch {
      this.counters.errors++;
    }
  }

  /** Forgets a session's streams (it ended). */
  forgetSession(sessionId: string): void {
    const prefix = `${sessionId}\u0000`;
    for (const key of [...this.#last.keys()]) if (key.startsWith(prefix)) this.#last.delete(key);
  }
}

function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms * 1e6));
}
