/**
 * The STT worker's short memory of each speaker's audio: a fixed-size ring of 16 kHz s16 samples
 * (about 30 s) fed with the bus's 48 kHz frames, resampled on arrival with the shared streaming
 * `Resampler`, and cut by session-clock times when a `voice.audio.segment` names a span. It lives in
 * memory only: nothing here is ever written to disk.
 *
 * Clock (the VAD worker's rule, docs/dsp.md): a run's first frame anchors it (`ts_monotonic_ns` of
 * that frame = output sample 0 of the run; the resampler is zero-phase, so output k sits at
 * k / 16 kHz after it). A gap in the frames (the bridge sends nothing while a speaker is silent) up
 * to `maxGapMs` is filled with silence; a longer gap (or a jump back by as much) starts a new run
 * anchored at its next frame. A cut that spans runs joins their pieces with `joinGapMs` of silence
 * and says where each piece sits.
 */
import { Resampler, s16ToFloat } from '@promethean/shared';

export interface PcmRingOptions {
  /** Rate of the PCM arriving (the bus's: 48 kHz). */
  inputRate: number;
  /** Rate kept and handed to the engine (16 kHz, what Whisper reads). */
  rate: number;
  /** Seconds of audio kept per speaker; older audio is overwritten. */
  seconds: number;
  /** Longest gap between frames filled with silence; a longer one starts a new run. */
  maxGapMs: number;
  /** Silence placed between two runs' pieces in one cut. */
  joinGapMs: number;
  /** Most runs remembered (older ones are forgotten with their audio). */
  maxRuns: number;
}

export const defaultPcmRingOptions: PcmRingOptions = { inputRate: 48000, rate: 16000, seconds: 30, maxGapMs: 1000, joinGapMs: 300, maxRuns: 256 };

/** One run's part of a cut: `length` samples at `offset` in the cut, the first of them at `ns`. */
export interface RingPiece {
  offset: number;
  length: number;
  ns: bigint;
}

export interface RingCut {
  /** Mono s16 at `rate`. */
  pcm: Int16Array;
  rate: number;
  pieces: RingPiece[];
}

interface Run {
  /** Absolute ring position of the run's output sample 0. */
  pos: number;
  /** Session-clock ns of that sample. */
  ns: bigint;
}

/** Shared read-only silence for filling gaps (grown when a larger gap needs it). */
let zeros = new Float32Array(0);
function silence(n: number): Float32Array {
  if (zeros.length < n) zeros = new Float32Array(n);
  return zeros.subarray(0, n);
}

export class PcmRing {
  readonly options: PcmRingOptions;
  readonly #buf: Int16Array;
  /** Samples written since the ring began (absolute position of the next one). */
  #written = 0;
  readonly #runs: Run[] = [];
  #resampler: Resampler;
  /** Session-clock ns of the current run's first input sample, and input samples (at inputRate) fed since. */
  #runOrigin = 0n;
  #inputSamples = 0;
  #float = new Float32Array(960);
  /** When the last frame arrived (performance.now()), for idle expiry. */
  lastActivity = 0;

  constructor(options: Partial<PcmRingOptions> = {}) {
    this.options = { ...defaultPcmRingOptions, ...options };
    this.#buf = new Int16Array(Math.ceil(this.options.seconds * this.options.rate));
    this.#resampler = new Resampler(this.options.inputRate, this.options.rate, {}, 960);
  }

  /** Samples the ring can hold. */
  get capacity(): number {
    return this.#buf.length;
  }

  /** Session-clock ns just after the newest sample kept; undefined before the first frame. */
  get endNs(): bigint | undefined {
    const run = this.#runs.at(-1);
    return run ? this.#nsAt(run, this.#written) : undefined;
  }

  /** Session-clock ns of the oldest sample still kept; undefined before the first frame. */
  get startNs(): bigint | undefined {
    const oldest = this.#oldest();
    for (let i = this.#runs.length - 1; i >= 0; i--) {
      const run = this.#runs[i]!;
      if (run.pos <= oldest) return this.#nsAt(run, oldest);
    }
    const first = this.#runs[0];
    return first ? first.ns : undefined;
  }

  /** Feeds one frame of s16 PCM at `inputRate` whose first sample is at `tsNs` on the session clock. */
  push(pcm: Int16Array, tsNs: bigint): void {
    this.lastActivity = performance.now();
    const run = this.#runs.at(-1);
    if (!run) {
      this.#startRun(tsNs);
    } else {
      const rate = this.options.inputRate;
      const expected = this.#runOrigin + (BigInt(this.#inputSamples) * 1_000_000_000n) / BigInt(rate);
      const gapNs = tsNs - expected;
      const maxGapNs = BigInt(this.options.maxGapMs) * 1_000_000n;
      // A long gap, or a clock that jumped back (a sender restarted): a new run anchored here.
      if (gapNs > maxGapNs || gapNs < -maxGapNs) {
        this.#write(this.#resampler.flush());
        this.#startRun(tsNs);
      } else {
        const gapSamples = Number((gapNs * BigInt(rate)) / 1_000_000_000n);
        // A missing frame or more: silence keeps the clock honest.
        if (gapSamples >= pcm.length / 2) this.#feed(silence(gapSamples));
      }
    }
    if (this.#float.length < pcm.length) this.#float = new Float32Array(pcm.length);
    this.#feed(s16ToFloat(pcm, this.#float.subarray(0, pcm.length)));
  }

  /**
   * The audio between `startNs` and `endNs` still in the ring (clipped to what it holds); undefined
   * when none of it is. The result is a copy.
   */
  cut(startNs: bigint, endNs: bigint): RingCut | undefined {
    if (endNs <= startNs) return undefined;
    const oldest = this.#oldest();
    const rate = this.options.rate;
    const spans: Array<{ from: number; to: number; run: Run }> = [];
    for (let i = 0; i < this.#runs.length; i++) {
      const run = this.#runs[i]!;
      const runEnd = this.#runs[i + 1]?.pos ?? this.#written;
      const runStart = Math.max(run.pos, oldest);
      if (runEnd <= runStart) continue;
      const from = Math.max(runStart, run.pos + this.#samplesFrom(run, startNs));
      const to = Math.min(runEnd, run.pos + this.#samplesFrom(run, endNs));
      if (to > from) spans.push({ from, to, run });
    }
    if (spans.length === 0) return undefined;
    const join = Math.round((this.options.joinGapMs / 1000) * rate);
    const total = spans.reduce((n, s) => n + (s.to - s.from), 0) + join * (spans.length - 1);
    const pcm = new Int16Array(total);
    const pieces: RingPiece[] = [];
    let at = 0;
    for (const s of spans) {
      if (pieces.length > 0) at += join;
      this.#copy(s.from, s.to, pcm, at);
      pieces.push({ offset: at, length: s.to - s.from, ns: this.#nsAt(s.run, s.from) });
      at += s.to - s.from;
    }
    return { pcm, rate, pieces };
  }

  #oldest(): number {
    return Math.max(0, this.#written - this.#buf.length);
  }

  /** The first sample index of `run` at or after `ns` (negative before the run), in exact integer arithmetic. */
  #samplesFrom(run: Run, ns: bigint): number {
    const a = (ns - run.ns) * BigInt(this.options.rate);
    const b = 1_000_000_000n;
    const q = a >= 0n ? (a + b - 1n) / b : -(-a / b);
    // Clamped far outside the ring so the result stays a safe integer.
    const limit = 1n << 50n;
    return Number(q > limit ? limit : q < -limit ? -limit : q);
  }

  #nsAt(run: Run, pos: number): bigint {
    return run.ns + (BigInt(pos - run.pos) * 1_000_000_000n) / BigInt(this.options.rate);
  }

  #startRun(tsNs: bigint): void {
    this.#runOrigin = tsNs;
    this.#inputSamples = 0;
    this.#runs.push({ pos: this.#written, ns: tsNs });
    // Forget runs whose audio is gone (the one before the oldest kept position stays: it maps it).
    const oldest = this.#oldest();
    while (this.#runs.length > 1 && this.#runs[1]!.pos <= oldest) this.#runs.shift();
    while (this.#runs.length > this.options.maxRuns) this.#runs.shift();
  }

  #feed(samples: Float32Array): void {
    this.#inputSamples += samples.length;
    this.#write(this.#resampler.processInput(samples));
  }

  #write(samples: Float32Array): void {
    const buf = this.#buf;
    const cap = buf.length;
    let at = this.#written % cap;
    for (let i = 0; i < samples.length; i++) {
      const v = Math.round(samples[i]! * 32768);
      buf[at] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
      if (++at === cap) at = 0;
    }
    this.#written += samples.length;
  }

  #copy(from: number, to: number, out: Int16Array, at: number): void {
    const cap = this.#buf.length;
    for (let p = from; p < to; p++) out[at + p - from] = this.#buf[p % cap]!;
  }
}

/** Session-clock ns of second `t` of a cut's audio (a time in a join gap maps to the end of the piece before it). */
export function cutTimeToNs(cut: RingCut, t: number): bigint {
  const sample = Math.max(0, t * cut.rate);
  let piece = cut.pieces[0]!;
  for (const p of cut.pieces) if (p.offset <= sample) piece = p;
  const within = Math.min(sample - piece.offset, piece.length);
  return piece.ns + BigInt(Math.round((within / cut.rate) * 1e9));
}

export interface SpeakerRingsOptions {
  /** Most speakers with a ring at once; a new speaker beyond it is refused until one expires. */
  maxSpeakers: number;
  /** A speaker with no frame for this long loses its ring. */
  idleMs: number;
  ring: Partial<PcmRingOptions>;
}

export const defaultSpeakerRingsOptions: SpeakerRingsOptions = { maxSpeakers: 64, idleMs: 30_000, ring: {} };

/** One ring per speaker key (provider, tenant, session, user), bounded in count, expired when idle. */
export class SpeakerRings {
  readonly options: SpeakerRingsOptions;
  readonly #rings = new Map<string, PcmRing>();

  constructor(options: Partial<SpeakerRingsOptions> = {}) {
    this.options = { ...defaultSpeakerRingsOptions, ...options };
  }

  get size(): number {
    return this.#rings.size;
  }

  get(key: string): PcmRing | undefined {
    return this.#rings.get(key);
  }

  /** The speaker's ring, created when there is room (idle ones are expired first); undefined when full. */
  open(key: string, now = performance.now()): PcmRing | undefined {
    const hit = this.#rings.get(key);
    if (hit) return hit;
    if (this.#rings.size >= this.options.maxSpeakers) this.expire(now);
    if (this.#rings.size >= this.options.maxSpeakers) return undefined;
    const ring = new PcmRing(this.options.ring);
    ring.lastActivity = now;
    this.#rings.set(key, ring);
    return ring;
  }

  delete(key: string): boolean {
    return this.#rings.delete(key);
  }

  /** Drops every ring whose key starts with `prefix` (a session that ended); returns how many. */
  deletePrefix(prefix: string): number {
    let n = 0;
    for (const key of this.#rings.keys()) if (key.startsWith(prefix) && this.#rings.delete(key)) n++;
    return n;
  }

  /** Drops rings idle longer than `idleMs`; returns how many. */
  expire(now = performance.now()): number {
    let n = 0;
    for (const [key, ring] of this.#rings) {
      if (now - ring.lastActivity > this.options.idleMs) {
        this.#rings.delete(key);
        n++;
      }
    }
    return n;
  }

  clear(): void {
    this.#rings.clear();
  }
}
