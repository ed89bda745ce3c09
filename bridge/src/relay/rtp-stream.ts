/**
 * The header rewriting of one outgoing RTP stream (one speaker in one session). Pure: no sockets, no
 * clock of its own. The outgoing sequence number and timestamp are the incoming ones plus an offset:
 *
 * - within a talk-spurt the offsets stay, so contiguous input stays contiguous, gaps (losses) stay
 *   visible and a slightly late packet lands where it belongs;
 * - a talk-spurt starts on the first packet, when the speaker's Discord ssrc changes (a reconnect),
 *   when the input sequence jumps too far, or after `talkspurtGapMs` without a packet. Then the
 *   timestamp continues from the last one plus the wall-clock time that passed (whole 20 ms frames,
 *   at least one), and the marker bit is set. On a new ssrc or a jump the sequence continues at
 *   last + 1; after a mere pause it keeps its offset (Discord's sequence runs on across silence).
 */

export interface RtpStreamOptions {
  /** RTP clock ticks per frame (48 kHz × 20 ms). */
  frameTicks: number;
  /** Frame duration, in ns. */
  frameNs: bigint;
  /** No packet for this long (ms) and the next one starts a talk-spurt. */
  talkspurtGapMs: number;
  /** An input sequence step beyond this many packets forwards is a discontinuity (restart the mapping). */
  maxForwardJump: number;
  /** A packet up to this many sequence numbers behind the newest is forwarded as late; older ones are a discontinuity. */
  maxLateness: number;
}

export const defaultRtpStreamOptions: RtpStreamOptions = {
  frameTicks: 960,
  frameNs: 20_000_000n,
  talkspurtGapMs: 100,
  maxForwardJump: 1000,
  maxLateness: 100,
};

/** Header fields for one outgoing packet. */
export interface RewrittenHeader {
  sequenceNumber: number;
  timestamp: number;
  marker: boolean;
  /** What happened: a talk-spurt start, an in-order packet, or a late one. */
  kind: 'start' | 'next' | 'late';
}

const u16 = (n: number): number => n & 0xffff;
const u32 = (n: number): number => n >>> 0;
/** Signed distance from `from` to `to` on the 16-bit circle, in [-32768, 32767]. */
/** Signed distance between two 32-bit RTP timestamps. */
const tsDelta = (to: number, from: number): number => ((to - from) | 0);
/** Timestamp mappings (talk-spurts) remembered for {@link RtpStreamRewriter.outgoingTimestamp}. */
const MAPPINGS_KEPT = 16;
const seqDelta = (to: number, from: number): number => ((to - from + 0x8000) & 0xffff) - 0x8000;

export class RtpStreamRewriter {
  readonly options: RtpStreamOptions;
  readonly #gapNs: bigint;
  #inSsrc: number | undefined;
  /** The ssrc before the last change: its stragglers are dropped instead of restarting the mapping. */
  #previousSsrc: number | undefined;
  #lastInSeq = 0;
  #seqOffset = 0;
  #tsOffset = 0;
  #lastOutSeq = 0;
  #lastOutTs = 0;
  #lastArrivalNs = 0n;
  /**
   * The timestamp mappings in force recently, newest last: from input timestamp `fromTs` of `inSsrc`
   * on, out = in + `tsOffset`. The PCM branch releases a frame after the relay sent it (the playout
   * delay), by when a new talk-spurt may have re-based the mapping, so a few old ones are kept.
   */
  readonly #mappings: Array<{ inSsrc: number; fromTs: number; tsOffset: number }> = [];

  /** `firstSeq` / `firstTs`: where the outgoing stream starts (random, per RFC 3550). */
  constructor(firstSeq: number, firstTs: number, options: Partial<RtpStreamOptions> = {}) {
    this.options = { ...defaultRtpStreamOptions, ...options };
    this.#gapNs = BigInt(Math.round(this.options.talkspurtGapMs * 1e6));
    // Chosen so that the first packet comes out as (firstSeq, firstTs).
    this.#lastOutSeq = u16(firstSeq - 1);
    this.#lastOutTs = u32(firstTs - this.options.frameTicks);
  }

  /** Monotonic time of the last in-order packet. */
  get lastArrivalNs(): bigint {
    return this.#lastArrivalNs;
  }

  /**
   * The outgoing header of an incoming packet, or `undefined` to drop it (a duplicate, or a straggler
   * of the speaker's previous ssrc).
   * `nowNs`: monotonic arrival time.
   */
  next(inSsrc: number, inSeq: number, inTs: number, nowNs: bigint): RewrittenHeader | undefined {
    if (this.#inSsrc === undefined) return this.#start(inSsrc, inSeq, inTs, nowNs, 0n, true);
    if (inSsrc === this.#previousSsrc) return undefined;
    if (inSsrc !== this.#inSsrc) return this.#start(inSsrc, inSeq, inTs, nowNs, nowNs - this.#lastArrivalNs, true);
    const d = seqDelta(inSeq, this.#lastInSeq);
    if (d === 0) return undefined;
    if (d < 0 && -d <= this.options.maxLateness) {
      // A late packet from before its spurt's first one (reordered at the start) belongs to this mapping.
      const m = this.#mappings.at(-1);
      if (m && tsDelta(inTs, m.fromTs) < 0) m.fromTs = inTs;
      return { sequenceNumber: u16(inSeq + this.#seqOffset), timestamp: u32(inTs + this.#tsOffset), marker: false, kind: 'late' };
    }
    if (d < 0 || d > this.options.maxForwardJump) return this.#start(inSsrc, inSeq, inTs, nowNs, nowNs - this.#lastArrivalNs, true);
    const elapsed = nowNs - this.#lastArrivalNs;
    if (elapsed >= this.#gapNs) return this.#start(inSsrc, inSeq, inTs, nowNs, elapsed, false);
    return this.#emit(inSeq, inTs, nowNs, false, 'next');
  }

  #start(inSsrc: number, inSeq: number, inTs: number, nowNs: bigint, elapsedNs: bigint, rebaseSeq: boolean): RewrittenHeader {
    const { frameNs, frameTicks } = this.options;
    const frames = elapsedNs <= 0n ? 1 : Math.max(1, Number((elapsedNs + frameNs / 2n) / frameNs));
    const outTs = u32(this.#lastOutTs + frames * frameTicks);
    if (rebaseSeq) this.#seqOffset = u16(this.#lastOutSeq + 1 - inSeq);
    this.#tsOffset = u32(outTs - inTs);
    if (this.#inSsrc !== undefined && this.#inSsrc !== inSsrc) this.#previousSsrc = this.#inSsrc;
    this.#inSsrc = inSsrc;
    this.#mappings.push({ inSsrc, fromTs: inTs, tsOffset: this.#tsOffset });
    if (this.#mappings.length > MAPPINGS_KEPT) this.#mappings.shift();
    return this.#emit(inSeq, inTs, nowNs, true, 'start');
  }

  /**
   * The outgoing timestamp the relay gave (or gives) an input packet of `inSsrc` with timestamp
   * `inTs`, through the newest mapping that covers it; `undefined` when none does (another ssrc, or
   * older than every mapping kept).
   */
  outgoingTimestamp(inSsrc: number, inTs: number): number | undefined {
    for (let i = this.#mappings.length - 1; i >= 0; i--) {
      const m = this.#mappings[i]!;
      if (m.inSsrc === inSsrc && tsDelta(inTs, m.fromTs) >= 0) return u32(inTs + m.tsOffset);
    }
    return undefined;
  }

  #emit(inSeq: number, inTs: number, nowNs: bigint, marker: boolean, kind: RewrittenHeader['kind']): RewrittenHeader {
    this.#lastInSeq = inSeq;
    this.#lastOutSeq = u16(inSeq + this.#seqOffset);
    this.#lastOutTs = u32(inTs + this.#tsOffset);
    this.#lastArrivalNs = nowNs;
    return { sequenceNumber: this.#lastOutSeq, timestamp: this.#lastOutTs, marker, kind };
  }
}
