/** Resampling to the Opus rate (48 kHz) and channel layout conversion. */
import type { PcmAudio } from './wav.ts';

/**
 * Resamples one channel with linear interpolation. When downsampling, a moving-average pre-filter of
 * the ratio's width keeps the worst aliasing down (speech fixtures are ≤ 48 kHz, so this is rare).
 */
export function resampleLinear(input: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate) return input.slice();
  let source = input;
  if (toRate < fromRate) {
    const width = Math.max(1, Math.round(fromRate / toRate));
    source = new Float32Array(input.length);
    let acc = 0;
    for (let i = 0; i < input.length; i++) {
      acc += input[i] as number;
      if (i >= width) acc -= input[i - width] as number;
      source[i] = acc / Math.min(i + 1, width);
    }
  }
  const outLength = Math.floor((input.length * toRate) / fromRate);
  const out = new Float32Array(outLength);
  const step = fromRate / toRate;
  for (let i = 0; i < outLength; i++) {
    const pos = i * step;
    const k = Math.floor(pos);
    const frac = pos - k;
    const a = source[k] ?? 0;
    const b = source[k + 1] ?? a;
    out[i] = a + (b - a) * frac;
  }
  return out;
}

/** Converts any WAV content to 48 kHz stereo (mono is duplicated, > 2 channels keep the first two). */
export function toStereo48k(audio: PcmAudio): [Float32Array, Float32Array] {
  const left = audio.channels[0] ?? new Float32Array(0);
  const right = audio.channels[1] ?? left;
  const l = resampleLinear(left, audio.sampleRate, 48_000);
  const r = right === left ? l : resampleLinear(right, audio.sampleRate, 48_000);
  return [l, r];
}

/** Interleaves a 960-sample stereo frame starting at `offset` into s16 LE bytes (zero past the end). */
export function stereoFrameS16(left: Float32Array, right: Float32Array, offset: number, samples: number): Buffer {
  const out = Buffer.alloc(samples * 4);
  for (let i = 0; i < samples; i++) {
    const l = left[offset + i] ?? 0;
    const r = right[offset + i] ?? 0;
    out.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(l * 32767))), i * 4);
    out.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(r * 32767))), i * 4 + 2);
  }
  return out;
}
