/**
 * Sample-rate and channel conversion for the mixer: any rate / channel count of s16 PCM to 48 kHz
 * interleaved stereo. Band-limited interpolation with a Hann-windowed sinc (cut-off at the lower of
 * the two Nyquist frequencies). Pure; one call converts one whole request.
 */

export interface ResampleOptions {
  /** Zero crossings of the sinc on each side of the output point. */
  halfTaps: number;
}

export const defaultResampleOptions: ResampleOptions = { halfTaps: 16 };

/** Mixes interleaved PCM of `channels` channels down or up to mono float samples. */
export function toMonoFloat(pcm: Int16Array, channels: number): Float32Array {
  const frames = Math.floor(pcm.length / channels);
  const out = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += pcm[i * channels + c]!;
    out[i] = sum / channels;
  }
  return out;
}

/**
 * A polyphase filter bank for one (fromRate, toRate, halfTaps): output sample j sits at input position
 * x = j·M/L (L/M = toRate/fromRate in lowest terms), so its fractional part takes only L values. The
 * windowed-sinc taps of each phase are computed once here instead of sin/cos per tap per sample.
 * Phases are capped at `MAX_PHASES`; beyond it (odd rates such as 44 056 Hz) each output takes the
 * nearest of that many phases, a timing error under 1/8192 of an input sample.
 */
interface FilterBank {
  /** Output step in input samples, as the exact fraction step = M / L. */
  up: number;
  down: number;
  phases: number;
  /** Taps per phase: input samples from floor(x) − half + 1 to floor(x) + half. */
  taps: number;
  half: number;
  /** phases × taps weights (0 outside the window). */
  weights: Float64Array;
}

const MAX_PHASES = 4096;
const banks = new Map<string, FilterBank>();
/** Filter banks kept (one per rate pair in use); the oldest is dropped beyond this. */
const MAX_BANKS = 16;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function filterBank(fromRate: number, toRate: number, halfTaps: number): FilterBank {
  const key = `${fromRate}:${toRate}:${halfTaps}`;
  const cached = banks.get(key);
  if (cached) return cached;
  const exact = Number.isInteger(fromRate) && Number.isInteger(toRate);
  const g = exact ? gcd(fromRate, toRate) : 1;
  const up = exact ? toRate / g : toRate;
  const down = exact ? fromRate / g : fromRate;
  const phases = exact && up <= MAX_PHASES ? up : MAX_PHASES;
  const ratio = toRate / fromRate;
  // Cut-off relative to the input rate: below both Nyquist frequencies.
  const cutoff = Math.min(1, ratio);
  const width = halfTaps / cutoff; // input samples on each side
  const half = Math.ceil(width) + 1;
  const taps = 2 * half;
  const weights = new Float64Array(phases * taps);
  for (let p = 0; p < phases; p++) {
    const frac = p / phases;
    for (let k = 0; k < taps; k++) {
      const t = k - half + 1 - frac; // input sample position − x
      if (Math.abs(t) > width) continue;
      const w = 0.5 + 0.5 * Math.cos((Math.PI * t) / width);
      const arg = Math.PI * cutoff * t;
      weights[p * taps + k] = (arg === 0 ? 1 : Math.sin(arg) / arg) * w;
    }
  }
  const bank: FilterBank = { up, down, phases, taps, half, weights };
  if (banks.size >= MAX_BANKS) banks.delete(banks.keys().next().value!);
  banks.set(key, bank);
  return bank;
}

/**
 * Resamples mono float samples from `fromRate` to `toRate`: band-limited interpolation with a
 * Hann-windowed sinc (cut-off at the lower of the two Nyquist frequencies), taps from a precomputed
 * polyphase bank.
 */
export function resampleMono(input: Float32Array, fromRate: number, toRate: number, options: Partial<ResampleOptions> = {}): Float32Array {
  if (!(fromRate > 0) || !(toRate > 0) || !Number.isFinite(fromRate) || !Number.isFinite(toRate)) throw new RangeError(`sample rates must be positive, got ${fromRate} → ${toRate}`);
  if (fromRate === toRate) return input.slice();
  const { halfTaps } = { ...defaultResampleOptions, ...options };
  const bank = filterBank(fromRate, toRate, halfTaps);
  const { up, down, phases, taps, half, weights } = bank;
  const exactPhases = phases === up;
  const outLength = Math.round(input.length * (toRate / fromRate));
  const out = new Float32Array(outLength);
  const last = input.length - 1;
  for (let j = 0; j < outLength; j++) {
    let base: number;
    let p: number;
    if (exactPhases) {
      // x = j·down/up exactly, in integers
      const n = j * down;
      base = Math.floor(n / up);
      p = n - base * up;
    } else {
      const x = (j * fromRate) / toRate;
      base = Math.floor(x);
      p = Math.round((x - base) * phases);
      if (p === phases) {
        p = 0;
        base++;
      }
    }
    const first = base - half + 1;
    const row = p * taps;
    let acc = 0;
    let norm = 0;
    const k0 = first < 0 ? -first : 0;
    const k1 = first + taps - 1 > last ? last - first : taps - 1;
    for (let k = k0; k <= k1; k++) {
      const w = weights[row + k]!;
      acc += input[first + k]! * w;
      norm += w;
    }
    // Normalising by the kernel sum keeps DC gain at 1 near the edges too.
    out[j] = norm !== 0 ? acc / norm : 0;
  }
  return out;
}

/**
 * Converts interleaved s16 PCM of any rate and channel count to 48 kHz interleaved stereo s16 with
 * `gainDb` applied (clipped to the s16 range). Multi-channel input is mixed to mono first.
 */
export function toStereo48k(pcm: Int16Array, rateHz: number, channels: number, gainDb = 0): Int16Array {
  if (!Number.isInteger(channels) || channels < 1) throw new RangeError(`channels must be a positive integer, got ${channels}`);
  const gain = Math.pow(10, gainDb / 20);
  const frames = Math.floor(pcm.length / channels);
  if (channels === 2 && rateHz === 48000) {
    const out = new Int16Array(frames * 2);
    for (let i = 0; i < out.length; i++) out[i] = clip(pcm[i]! * gain);
    return out;
  }
  if (channels === 2) {
    const left = new Float32Array(frames);
    const right = new Float32Array(frames);
    for (let i = 0; i < frames; i++) {
      left[i] = pcm[2 * i]!;
      right[i] = pcm[2 * i + 1]!;
    }
    const l = resampleMono(left, rateHz, 48000);
    const r = resampleMono(right, rateHz, 48000);
    const out = new Int16Array(l.length * 2);
    for (let i = 0; i < l.length; i++) {
      out[2 * i] = clip(l[i]! * gain);
      out[2 * i + 1] = clip(r[i]! * gain);
    }
    return out;
  }
  const mono = resampleMono(toMonoFloat(pcm, channels), rateHz, 48000);
  const out = new Int16Array(mono.length * 2);
  for (let i = 0; i < mono.length; i++) {
    const v = clip(mono[i]! * gain);
    out[2 * i] = v;
    out[2 * i + 1] = v;
  }
  return out;
}

function clip(v: number): number {
  const r = Math.round(v);
  return r > 32767 ? 32767 : r < -32768 ? -32768 : r;
}
