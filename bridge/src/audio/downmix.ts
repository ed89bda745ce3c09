/** Channel conversion on interleaved s16 PCM. Pure; the caller owns the output buffers. */

/** Averages interleaved stereo into mono (rounding half away from zero stays within s16). */
export function downmixStereo(stereo: Int16Array, out: Int16Array = new Int16Array(stereo.length >> 1)): Int16Array {
  const n = stereo.length >> 1;
  if (out.length < n) throw new RangeError(`downmix output of ${out.length} samples is shorter than ${n}`);
  for (let i = 0, j = 0; i < n; i++, j += 2) out[i] = (stereo[j]! + stereo[j + 1]!) >> 1;
  return out.length === n ? out : out.subarray(0, n);
}

/** Duplicates mono samples into interleaved stereo. */
export function upmixMono(mono: Int16Array, out: Int16Array = new Int16Array(mono.length * 2)): Int16Array {
  for (let i = 0, j = 0; i < mono.length; i++, j += 2) {
    out[j] = mono[i]!;
    out[j + 1] = mono[i]!;
  }
  return out;
}
