/**
 * Per-speaker RTP receive statistics (RFC 3550 §6.4.1 / A.1, A.8): extended sequence numbers across the
 * 16-bit wrap, expected vs received packets, reordering, interarrival jitter, and a clock-skew estimate.
 */

export const RTP_SEQ_MOD = 0x10000;
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
/** A transit-time change above this (seconds) is a talk-spurt boundary, not jitter. */
const SPURT_BREAK_S = 0.25;
/** Runs the skew window is cut into for the lower-envelope estimate. */
const SKEW_BUCKETS = 10;

export interface StreamStatsOptions {
  /** RTP clock rate in Hz (Opus: 48000). */
  clockRate: number;
  /** Packets in the clock-skew regression window (500 = 10 s of 20 ms packets). */
  skewWindow: number;
  /** Minimum span of the window, in seconds, before a skew estimate is reported. */
  skewMinSpanS: number;
}

export const defaultStreamStatsOptions: StreamStatsOptions = { clockRate: 48000, skewWindow: 500, skewMinSpanS: 2 };

export interface StreamStatsSnapshot {
  received: number;
  expected: number;
  lost: number;
  lossPct: number;
  reordered: number;
  duplicates: number;
  jitterMs: number;
  clockSkewPpm: number;
  highestSeq: number;
}

/** The result of {@link StreamStats.onPacket}: the packet's extended sequence number and whether it was in order. */
export interface PacketVerdict {
  extSeq: number;
  /** Older than the highest sequence seen so far. */
  reordered: boolean;
  /** A sequence jump beyond {@link MAX_DROPOUT}: the stream restarted. */
  restarted: boolean;
}

export class StreamStats {
  readonly options: StreamStatsOptions;
  private started = false;
  private baseExt = 0;
  private maxExt = 0;
  private cycles = 0;
  private maxSeq = 0;
  private received = 0;
  /** Totals of sequence ranges before a restart. */
  private priorExpected = 0;
  private priorReceived = 0;
  private reordered = 0;
  private duplicates = 0;
  /** RFC 3550 jitter in timestamp units, as a float. */
  private jitter = 0;
  private lastTransit: number | undefined;
  private lastArrivalNs = 0n;
  // Skew regression over (unwrapped rtp seconds, arrival seconds).
  private readonly skewX: Float64Array;
  private readonly skewY: Float64Array;
  private skewCount = 0;
  private skewAt = 0;
  private tsLast = 0;
  private tsUnwrapped = 0;
  private arrivalBaseNs = 0n;

  constructor(options: Partial<StreamStatsOptions> = {}) {
    this.options = { ...defaultStreamStatsOptions, ...options };
    this.skewX = new Float64Array(this.options.skewWindow);
    this.skewY = new Float64Array(this.options.skewWindow);
  }

  /** Records one packet. `arrivalNs` is a monotonic clock reading (process.hrtime.bigint()). */
  onPacket(seq: number, timestamp: number, arrivalNs: bigint): PacketVerdict {
    if (!this.started) {
      this.started = true;
      this.maxSeq = seq;
      this.baseExt = seq;
      this.maxExt = seq;
      this.received = 1;
      this.resetSkew(timestamp, arrivalNs);
      this.updateJitter(timestamp, arrivalNs);
      return { extSeq: seq, reordered: false, restarted: false };
    }
    const delta = (seq - this.maxSeq + RTP_SEQ_MOD) % RTP_SEQ_MOD;
    let extSeq: number;
    let reordered = false;
    let restarted = false;
    if (delta === 0) {
      this.duplicates++;
      return { extSeq: this.maxExt, reordered: true, restarted: false };
    } else if (delta < MAX_DROPOUT) {
      if (seq < this.maxSeq) this.cycles += RTP_SEQ_MOD;
      this.maxSeq = seq;
      extSeq = this.cycles + seq;
      this.maxExt = extSeq;
    } else if (delta > RTP_SEQ_MOD - MAX_MISORDER) {
      // older than the highest seen: reordered (or a late duplicate)
      const back = RTP_SEQ_MOD - delta;
      extSeq = this.maxExt - back;
      reordered = true;
      this.reordered++;
      if (extSeq < this.baseExt) this.baseExt = extSeq;
    } else {
      // a large jump: the sender restarted its sequence space; keep the totals, start a new range
      restarted = true;
      this.priorExpected += this.maxExt - this.baseExt + 1;
      this.priorReceived += this.received;
      this.received = 0;
      this.cycles = 0;
      this.maxSeq = seq;
      this.baseExt = seq;
      this.maxExt = seq;
      extSeq = seq;
      this.resetSkew(timestamp, arrivalNs);
    }
    this.received++;
    this.updateJitter(timestamp, arrivalNs);
    if (!reordered) this.addSkewPoint(timestamp, arrivalNs);
    return { extSeq, reordered, restarted };
  }

  snapshot(): StreamStatsSnapshot {
    const expected = this.priorExpected + (this.started ? this.maxExt - this.baseExt + 1 : 0);
    const received = this.priorReceived + this.received;
    const lost = Math.max(0, expected - received);
    return {
      received,
      expected,
      lost,
      lossPct: expected > 0 ? (100 * lost) / expected : 0,
      reordered: this.reordered,
      duplicates: this.duplicates,
      jitterMs: (this.jitter / this.options.clockRate) * 1000,
      clockSkewPpm: this.clockSkewPpm(),
      highestSeq: this.maxSeq,
    };
  }

  /** Packets lost so far (expected − received, never negative); what snapshot() reports, without the skew fit. */
  get lost(): number {
    const expected = this.priorExpected + (this.started ? this.maxExt - this.baseExt + 1 : 0);
    return Math.max(0, expected - this.priorReceived - this.received);
  }

  /** RFC 3550 interarrival jitter in ms; what snapshot() reports. */
  get jitterMs(): number {
    return (this.jitter / this.options.clockRate) * 1000;
  }

  /** Time of the last packet, for idle detection. */
  get lastArrival(): bigint {
    return this.lastArrivalNs;
  }

  private updateJitter(timestamp: number, arrivalNs: bigint): void {
    this.lastArrivalNs = arrivalNs;
    const x = this.unwrap(timestamp);
    // transit = arrival (in timestamp units) - timestamp; differences only, so the origin does not matter.
    const transit = Number(arrivalNs - this.arrivalBaseNs) * (this.options.clockRate / 1e9) - x;
    if (this.lastTransit !== undefined) {
      const d = Math.abs(transit - this.lastTransit);
      if (d > this.options.clockRate * SPURT_BREAK_S) {
        // A sender that does not advance its timestamp through silence: a new talk-spurt, not jitter.
        this.skewCount = 0;
        this.skewAt = 0;
      } else {
        this.jitter += (d - this.jitter) / 16;
      }
    }
    this.lastTransit = transit;
  }

  /** Unwraps a 32-bit RTP timestamp relative to the highest one seen (handles the 2³² wrap both ways). */
  private unwrap(timestamp: number): number {
    let d = (timestamp - this.tsLast) >>> 0;
    if (d > 0x7fffffff) d -= 0x100000000;
    const value = this.tsUnwrapped + d;
    if (d > 0) {
      this.tsLast = timestamp;
      this.tsUnwrapped = value;
    }
    return value;
  }

  private resetSkew(timestamp: number, arrivalNs: bigint): void {
    this.tsLast = timestamp;
    this.tsUnwrapped = 0;
    this.arrivalBaseNs = arrivalNs;
    this.lastTransit = undefined;
    this.skewCount = 0;
    this.skewAt = 0;
    this.addSkewPoint(timestamp, arrivalNs);
  }

  private addSkewPoint(timestamp: number, arrivalNs: bigint): void {
    const x = this.unwrap(timestamp) / this.options.clockRate;
    const y = Number(arrivalNs - this.arrivalBaseNs) / 1e9;
    this.skewX[this.skewAt] = x;
    this.skewY[this.skewAt] = y;
    this.skewAt = (this.skewAt + 1) % this.skewX.length;
    if (this.skewCount < this.skewX.length) this.skewCount++;
  }

  /**
   * Slope of arrival time over media time from the lower envelope: the window is cut into
   * {@link SKEW_BUCKETS} runs, each contributes its smallest transit (arrival − media time), and a
   * least-squares line through those minima gives the drift. Queueing and event-loop stalls only ever
   * add delay, so the minima track the clocks, not the load. Sender clock fast → positive ppm.
   */
  private clockSkewPpm(): number {
    const n = this.skewCount;
    if (n < SKEW_BUCKETS * 3) return 0;
    const size = this.skewX.length;
    const oldest = n < size ? 0 : this.skewAt;
    const per = Math.floor(n / SKEW_BUCKETS);
    const bx: number[] = [];
    const bm: number[] = [];
    for (let b = 0; b < SKEW_BUCKETS; b++) {
      let minT = Infinity;
      let atX = 0;
      for (let k = b * per; k < (b + 1) * per; k++) {
        const i = (oldest + k) % size;
        const t = this.skewY[i]! - this.skewX[i]!;
        if (t < minT) {
          minT = t;
          atX = this.skewX[i]!;
        }
      }
      bx.push(atX);
      bm.push(minT);
    }
    const span = bx[bx.length - 1]! - bx[0]!;
    if (span < this.options.skewMinSpanS) return 0;
    const mx = bx.reduce((a, v) => a + v, 0) / bx.length;
    const mm = bm.reduce((a, v) => a + v, 0) / bm.length;
    let sxy = 0, sxx = 0;
    for (let b = 0; b < bx.length; b++) {
      sxy += (bx[b]! - mx) * (bm[b]! - mm);
      sxx += (bx[b]! - mx) ** 2;
    }
    if (sxx === 0) return 0;
    const slope = 1 + sxy / sxx; // receiver seconds per media second
    return (1 / slope - 1) * 1e6;
  }
}
