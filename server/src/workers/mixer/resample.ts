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

/** Resamples mono float samples from `fromRate` to `toRate`. */
export function resampleMono(input: Float32Array, fromRate: number, toRate: number, options: Partial<ResampleOptions> = {}): Float32Array {
  if (!(fromRate > 0) || !(toRate > 0)) throw new RangeError(`sample rates must be positive, got ${fromRate} → ${toRate}`);
  if (fromRate === toRate) return input.slice();
  const { halfTaps } = { ...defaultResampleOptions, ...options };
  const ratio = toRate / fromRate;
  const outLength = Math.round(input.length * ratio);
  const out = new Float32Array(outLength);
  // Cut-off relative to the input rate: below both Nyquist frequencies.
  const cutoff = Math.min(1, ratio);
  const width = halfTaps / cutoff; // input samples on each side
  for (let j = 0; j < outLength; j++) {
    const x = j / ratio;
    const start = Math.max(0, Math.ceil(x - width));
    const end = Math.min(input.length - 1, Math.floor(x + width));
    let acc = 0;
    let norm = 0;
    for (let i = start; i <= end; i++) {
      const t = i - x;
      const w = 0.5 + 0.5 * Math.cos((Math.PI * t) / width);
      const arg = Math.PI * cutoff * t;
      const s = arg === 0 ? 1 : Math.sin(arg) / arg;
      const k = s * w;
      acc += input[i]! * k;
      norm += k;
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
