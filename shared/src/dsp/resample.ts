/**
 * Band-limited resampling by a rational factor L/M with a Kaiser-windowed sinc, precomputed once as a
 * polyphase table (one row of taps per output phase). Written here because it must run unchanged in
 * the browser's worklet, the server and the CLI, streaming with no allocation per chunk.
 *
 * Output sample n sits at input time n·M/L exactly (a zero-phase filter): timestamps carry over by
 * index, and the streaming processor only delays *when* a sample is emitted, not where it sits.
 */
import { checkInt, checkNumber, DspOptionsError } from './errors.ts';

export interface ResamplerOptions {
  /** Zero crossings of the sinc kept on each side, at the lower of the two rates. Default 16. */
  zeroCrossings: number;
  /** Passband edge as a fraction of the lower Nyquist frequency. Default 0.94. */
  rolloff: number;
  /** Kaiser window β (stopband ~ −90 dB at 8.6). Default 8.6. */
  kaiserBeta: number;
}

export const defaultResamplerOptions: ResamplerOptions = { zeroCrossings: 16, rolloff: 0.94, kaiserBeta: 8.6 };

/** Largest polyphase table (phases × taps) built; beyond it the rate pair is refused. */
const MAX_TABLE = 1 << 23;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Zeroth-order modified Bessel function of the first kind (power series; converges fast for β ≤ 20). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 64; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

interface Plan {
  up: number;
  down: number;
  /** Taps per phase; input samples j = i − half + 1 … i + half for output at input index i + p/up. */
  taps: number;
  half: number;
  table: Float64Array;
}

const plans = new Map<string, Plan>();

function planFor(fromRate: number, toRate: number, o: ResamplerOptions): Plan {
  const key = `${fromRate}:${toRate}:${o.zeroCrossings}:${o.rolloff}:${o.kaiserBeta}`;
  const hit = plans.get(key);
  if (hit) return hit;
  const g = gcd(fromRate, toRate);
  const up = toRate / g;
  const down = fromRate / g;
  // Cut-off in cycles per input sample: half the lower rate, times the rolloff.
  const cutoff = 0.5 * Math.min(1, up / down) * o.rolloff;
  const halfWidth = o.zeroCrossings / (2 * cutoff); // in input samples
  const half = Math.ceil(halfWidth);
  const taps = 2 * half;
  if (up * taps > MAX_TABLE) throw new DspOptionsError('sample_rate', `resampling ${fromRate} → ${toRate} Hz needs a ${up}-phase filter; choose rates with a larger common divisor`);
  const table = new Float64Array(up * taps);
  const i0b = besselI0(o.kaiserBeta);
  for (let p = 0; p < up; p++) {
    const frac = p / up;
    for (let d = -half + 1; d <= half; d++) {
      const tau = frac - d; // distance from input sample i + d to the output instant i + frac
      const x = tau / halfWidth;
      let h = 0;
      if (Math.abs(x) < 1) {
        const arg = 2 * cutoff * tau;
        const sinc = arg === 0 ? 1 : Math.sin(Math.PI * arg) / (Math.PI * arg);
        h = 2 * cutoff * sinc * (besselI0(o.kaiserBeta * Math.sqrt(1 - x * x)) / i0b);
      }
      table[p * taps + (d + half - 1)] = h;
    }
  }
  const plan = { up, down, taps, half, table };
  if (plans.size >= 32) plans.delete(plans.keys().next().value!);
  plans.set(key, plan);
  return plan;
}

function checkRates(fromRate: number, toRate: number): void {
  checkInt('from_rate', fromRate, 1, 1_000_000);
  checkInt('to_rate', toRate, 1, 1_000_000);
}

/** Resamples a whole signal (zeros assumed outside it). Output length: ⌈n · to / from⌉. */
export function resample(signal: ArrayLike<number>, fromRate: number, toRate: number, options: Partial<ResamplerOptions> = {}): Float32Array {
  checkRates(fromRate, toRate);
  if (fromRate === toRate) return Float32Array.from(signal);
  const plan = planFor(fromRate, toRate, { ...defaultResamplerOptions, ...options });
  const { up, down, taps, half, table } = plan;
  const n = signal.length;
  const outLength = Math.ceil((n * up) / down);
  const out = new Float32Array(outLength);
  for (let k = 0; k < outLength; k++) {
    const num = k * down;
    const i = Math.floor(num / up);
    const p = num - i * up;
    const row = p * taps;
    const first = i - half + 1;
    let acc = 0;
    const lo = Math.max(0, -first);
    const hi = Math.min(taps, n - first);
    for (let t = lo; t < hi; t++) acc += table[row + t]! * signal[first + t]!;
    out[k] = acc;
  }
  return out;
}

/**
 * Streaming resampler: `processInput(chunk)` returns every output sample whose input has arrived
 * (a view reused by the next call); `flush()` returns the tail, reading zeros past the end. Output
 * sample k always equals `resample(whole input)[k]`.
 */
export class Resampler {
  readonly fromRate: number;
  readonly toRate: number;
  readonly #plan: Plan | undefined;
  /** Input history: samples [#bufStart, #bufStart + #bufLen). */
  #buf: Float64Array;
  #bufStart = 0;
  #bufLen = 0;
  /** Next output index to produce. */
  #next = 0;
  #out: Float32Array;

  constructor(fromRate: number, toRate: number, options: Partial<ResamplerOptions> = {}, maxChunk = 8192) {
    checkRates(fromRate, toRate);
    checkNumber('max_chunk', maxChunk, 1, 1 << 24);
    this.fromRate = fromRate;
    this.toRate = toRate;
    this.#plan = fromRate === toRate ? undefined : planFor(fromRate, toRate, { ...defaultResamplerOptions, ...options });
    const taps = this.#plan?.taps ?? 0;
    this.#buf = new Float64Array(maxChunk + 2 * taps + 1);
    this.#out = new Float32Array(Math.ceil((maxChunk * toRate) / fromRate) + 2);
  }

  /** Output samples produced so far. */
  get produced(): number {
    return this.#next;
  }

  processInput(chunk: ArrayLike<number>): Float32Array {
    if (!this.#plan) {
      if (this.#out.length < chunk.length) this.#out = new Float32Array(chunk.length);
      for (let i = 0; i < chunk.length; i++) this.#out[i] = chunk[i]!;
      this.#next += chunk.length;
      return this.#out.subarray(0, chunk.length);
    }
    this.#append(chunk);
    return this.#emit(this.#bufStart + this.#bufLen, false);
  }

  /** The remaining output, as if the input were followed by silence; then the processor starts over. */
  flush(): Float32Array {
    if (!this.#plan) return this.#out.subarray(0, 0);
    const totalIn = this.#bufStart + this.#bufLen;
    const out = this.#emit(totalIn, true);
    this.#bufStart = 0;
    this.#bufLen = 0;
    this.#next = 0;
    return out;
  }

  #append(chunk: ArrayLike<number>): void {
    const { taps } = this.#plan!;
    // Drop history no future output needs: output #next reads from ⌊#next·M/L⌋ − half + 1.
    const need = Math.floor((this.#next * this.#plan!.down) / this.#plan!.up) - this.#plan!.half + 1;
    const drop = Math.max(0, Math.min(this.#bufLen, need - this.#bufStart));
    if (drop > 0) {
      this.#buf.copyWithin(0, drop, this.#bufLen);
      this.#bufStart += drop;
      this.#bufLen -= drop;
    }
    if (this.#bufLen + chunk.length > this.#buf.length) {
      const grown = new Float64Array(this.#bufLen + chunk.length + 2 * taps + 1);
      grown.set(this.#buf.subarray(0, this.#bufLen));
      this.#buf = grown;
    }
    for (let i = 0; i < chunk.length; i++) this.#buf[this.#bufLen + i] = chunk[i]!;
    this.#bufLen += chunk.length;
  }

  /** Emits outputs whose last input sample is below `available` (or all up to the end when final). */
  #emit(available: number, final: boolean): Float32Array {
    const { up, down, taps, half, table } = this.#plan!;
    const endOut = final ? Math.ceil((available * up) / down) : Number.POSITIVE_INFINITY;
    let count = 0;
    for (;;) {
      const k = this.#next;
      if (k >= endOut) break;
      const num = k * down;
      const i = Math.floor(num / up);
      if (!final && i + half >= available) break;
      if (count >= this.#out.length) {
        const grown = new Float32Array(this.#out.length * 2);
        grown.set(this.#out);
        this.#out = grown;
      }
      const p = num - i * up;
      const row = p * taps;
      const first = i - half + 1;
      let acc = 0;
      for (let t = 0; t < taps; t++) {
        const j = first + t;
        if (j < 0 || j >= available) continue;
        acc += table[row + t]! * this.#buf[j - this.#bufStart]!;
      }
      this.#out[count++] = acc;
      this.#next++;
    }
    return this.#out.subarray(0, count);
  }
}
