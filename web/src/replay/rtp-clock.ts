/**
 * A received stream's RTP timestamps on one clock. Pure.
 *
 * RTP timestamps are 32-bit and wrap (every ~24.9 h at 48 kHz); `RtpUnwrapper` extends them to a
 * monotonic sample count (a safe integer) for one stream. The relay advances a speaker's timestamps
 * with wall-clock time across silence (docs/listening.md), so the unwrapped count is a clock of its
 * own, 48,000 ticks a second, that keeps gaps as gaps.
 *
 * `SessionClockMap` puts that count on the session clock (nanoseconds, `ts_*_ns` in envelopes):
 * `ns = anchor.ns + (ticks − anchor.ticks) × 1e9 / rate`. The anchor is the first frame's receive
 * time unless one is given (see docs/dsp.md, "The browser's session clock").
 */

/** Opus over RTP always ticks at 48 kHz (RFC 7587), whatever the coded bandwidth. */
export const OPUS_RTP_RATE = 48_000;

const U32 = 0x1_0000_0000;

export class RtpUnwrapper {
  #last: number | undefined;
  #ext = 0;

  /** The unwrapped tick count of a 32-bit timestamp; a jump of more than half the range backwards counts as reordering, not a wrap. */
  unwrap(ts: number): number {
    const t = ts >>> 0;
    if (this.#last === undefined) {
      this.#last = t;
      this.#ext = t;
      return t;
    }
    let delta = t - this.#last;
    if (delta > U32 / 2) delta -= U32;
    else if (delta < -U32 / 2) delta += U32;
    const ext = this.#ext + delta;
    // Only forward steps move the reference, so a late packet does not pull the clock back.
    if (delta > 0) {
      this.#last = t;
      this.#ext = ext;
    }
    return ext;
  }

  reset(): void {
    this.#last = undefined;
    this.#ext = 0;
  }
}

export interface ClockAnchor {
  /** Unwrapped RTP ticks at the anchor. */
  ticks: number;
  /** The session clock at the anchor, ns (a bigint: wall-clock ns exceed 2^53). */
  ns: bigint;
  /** Where the anchor came from: the server (`relay`) or the first frame's receive time (`receive`). */
  source: 'relay' | 'receive';
}

export class SessionClockMap {
  readonly rate: number;
  #anchor: ClockAnchor | undefined;

  constructor(rate = OPUS_RTP_RATE) {
    this.rate = rate;
  }

  get anchor(): ClockAnchor | undefined {
    return this.#anchor;
  }

  /** Sets the anchor unless one from the relay is already set (a relay anchor always wins). */
  anchorAt(ticks: number, ns: bigint, source: ClockAnchor['source']): void {
    if (this.#anchor && (this.#anchor.source === 'relay' || source === 'receive')) return;
    this.#anchor = { ticks, ns, source };
  }

  /** Session-clock ns of an unwrapped tick count; throws when there is no anchor yet. */
  toNs(ticks: number): bigint {
    const a = this.#anchor;
    if (!a) throw new RangeError('the session clock has no anchor yet');
    return a.ns + (BigInt(ticks - a.ticks) * 1_000_000_000n) / BigInt(this.rate);
  }

  /** Unwrapped ticks of a session-clock time (rounded down); throws when there is no anchor yet. */
  toTicks(ns: bigint): number {
    const a = this.#anchor;
    if (!a) throw new RangeError('the session clock has no anchor yet');
    const d = ns - a.ns;
    const num = d * BigInt(this.rate);
    const q = num / 1_000_000_000n;
    // BigInt division truncates toward zero; round toward −∞ for times before the anchor.
    return a.ticks + Number(num < 0n && q * 1_000_000_000n !== num ? q - 1n : q);
  }
}

/** Epoch ns of a `performance` time-origin–relative ms value (`performance.timeOrigin + t`). */
export function epochNs(timeOriginMs: number, nowMs: number): bigint {
  return BigInt(Math.round((timeOriginMs + nowMs) * 1000)) * 1000n;
}
