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
 * time until the bridge's `voice.relay.anchor` gives relay anchors, which then win (see docs/dsp.md,
 * "The browser's session clock").
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
  /**
   * Where the anchor came from: the bridge (`relay`: `voice.relay.anchor`, ns on the bridge's
   * monotonic clock) or the first frame's receive time (`receive`: epoch ns).
   */
  source: 'relay' | 'receive';
}

export interface SessionClockMapOptions {
  /** RTP clock rate. */
  rate: number;
  /** Relay anchors kept (the newest); at one every few seconds, minutes of a speaker's history. */
  maxRelayAnchors: number;
}

export const defaultSessionClockMapOptions: SessionClockMapOptions = { rate: OPUS_RTP_RATE, maxRelayAnchors: 128 };

/**
 * One speaker's tick axis on the session clock. Until a relay anchor arrives the axis hangs on one
 * receive anchor; from then on on the relay's anchors only, piecewise: ticks map through the newest
 * relay anchor at or before them (the bridge announces a new one where its mapping moves, e.g. a
 * talk-spurt the relay re-based), and ticks before every relay anchor (frames received before the
 * first anchor arrived) through the oldest one. The receive anchor is kept for placing a new RTP
 * stream by its receive time ({@link receiveTicks}).
 */
export class SessionClockMap {
  readonly rate: number;
  readonly options: SessionClockMapOptions;
  #receive: ClockAnchor | undefined;
  /** Relay anchors, sorted by ticks. */
  readonly #relay: ClockAnchor[] = [];

  constructor(options: Partial<SessionClockMapOptions> | number = {}) {
    this.options = { ...defaultSessionClockMapOptions, ...(typeof options === 'number' ? { rate: options } : options) };
    this.rate = this.options.rate;
  }

  /** The anchor in force for the newest ticks: the newest relay anchor, else the receive anchor. */
  get anchor(): ClockAnchor | undefined {
    return this.#relay.at(-1) ?? this.#receive;
  }

  /** Which clock the axis is on: `relay` once any relay anchor arrived. */
  get source(): ClockAnchor['source'] | undefined {
    return this.anchor?.source;
  }

  /** Relay anchors held, oldest first. */
  get relayAnchors(): readonly ClockAnchor[] {
    return this.#relay;
  }

  /**
   * Adds an anchor. A receive anchor is taken only as the first one (later ones are ignored); a relay
   * anchor is added to the relay anchors (one at the same ticks is replaced), the oldest dropped
   * beyond `maxRelayAnchors`.
   */
  anchorAt(ticks: number, ns: bigint, source: ClockAnchor['source']): void {
    if (source === 'receive') {
      this.#receive ??= { ticks, ns, source };
      return;
    }
    const a: ClockAnchor = { ticks, ns, source };
    let i = this.#relay.length;
    while (i > 0 && this.#relay[i - 1]!.ticks > ticks) i--;
    if (i > 0 && this.#relay[i - 1]!.ticks === ticks) this.#relay[i - 1] = a;
    else this.#relay.splice(i, 0, a);
    while (this.#relay.length > this.options.maxRelayAnchors) this.#relay.shift();
  }

  /** Session-clock ns of an unwrapped tick count; throws when there is no anchor yet. */
  toNs(ticks: number): bigint {
    const a = this.#anchorForTicks(ticks);
    return a.ns + (BigInt(ticks - a.ticks) * 1_000_000_000n) / BigInt(this.rate);
  }

  /** Unwrapped ticks of a session-clock time (rounded down); throws when there is no anchor yet. */
  toTicks(ns: bigint): number {
    return this.#ticksThrough(this.#anchorForNs(ns), ns);
  }

  /** Ticks of an epoch receive time through the receive anchor (placing a new RTP stream); throws without one. */
  receiveTicks(ns: bigint): number {
    if (!this.#receive) throw new RangeError('the session clock has no receive anchor yet');
    return this.#ticksThrough(this.#receive, ns);
  }

  #anchorForTicks(ticks: number): ClockAnchor {
    const r = this.#relay;
    if (r.length > 0) {
      for (let i = r.length - 1; i >= 0; i--) if (r[i]!.ticks <= ticks) return r[i]!;
      return r[0]!;
    }
    if (!this.#receive) throw new RangeError('the session clock has no anchor yet');
    return this.#receive;
  }

  /** The relay anchor whose piece holds `ns`: the newest one at or before it (pieces may overlap at a jump back). */
  #anchorForNs(ns: bigint): ClockAnchor {
    const r = this.#relay;
    if (r.length > 0) {
      for (let i = r.length - 1; i >= 0; i--) if (r[i]!.ns <= ns) return r[i]!;
      return r[0]!;
    }
    if (!this.#receive) throw new RangeError('the session clock has no anchor yet');
    return this.#receive;
  }

  #ticksThrough(a: ClockAnchor, ns: bigint): number {
    const num = (ns - a.ns) * BigInt(this.rate);
    const q = num / 1_000_000_000n;
    // BigInt division truncates toward zero; round toward −∞ for times before the anchor.
    return a.ticks + Number(num < 0n && q * 1_000_000_000n !== num ? q - 1n : q);
  }
}

/**
 * The unwrapped ticks of a 32-bit RTP timestamp `rtp` next to a known (32-bit, unwrapped) pair of
 * the same stream, or `undefined` when it is more than `maxTicks` away (an anchor of another stream
 * or timestamp base). Wrap-safe: the signed 32-bit distance.
 */
export function ticksNear(ref: { rtp: number; ticks: number }, rtp: number, maxTicks = 60 * OPUS_RTP_RATE): number | undefined {
  const d = ((rtp >>> 0) - (ref.rtp >>> 0)) | 0;
  return Math.abs(d) > maxTicks ? undefined : ref.ticks + d;
}

/** Epoch ns of a `performance` time-origin–relative ms value (`performance.timeOrigin + t`). */
export function epochNs(timeOriginMs: number, nowMs: number): bigint {
  return BigInt(Math.round((timeOriginMs + nowMs) * 1000)) * 1000n;
}
