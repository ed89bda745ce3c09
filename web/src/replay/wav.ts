/** A WAV file (RIFF, WAVE_FORMAT_PCM, 16-bit little-endian) from float samples. Pure. */

/** Encodes interleaved float samples (−1..1; clipped; NaN as 0) as 16-bit PCM WAV. */
export function encodeWav16(samples: Float32Array, sampleRate: number, channels = 1): Uint8Array<ArrayBuffer> {
  if (!Number.isInteger(sampleRate) || sampleRate <= 0) throw new RangeError(`sample rate must be a positive integer, not ${sampleRate}`);
  if (!Number.isInteger(channels) || channels < 1 || channels > 8) throw new RangeError(`channels must be 1..8, not ${channels}`);
  const dataBytes = samples.length * 2;
  const out = new Uint8Array(44 + dataBytes);
  const v = new DataView(out.buffer);
  const ascii = (at: number, s: string) => {
    for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  v.setUint32(4, 36 + dataBytes, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); // WAVE_FORMAT_PCM
  v.setUint16(22, channels, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * channels * 2, true);
  v.setUint16(32, channels * 2, true);
  v.setUint16(34, 16, true);
  ascii(36, 'data');
  v.setUint32(40, dataBytes, true);
  for (let i = 0; i < samples.length; i++) {
    const x = samples[i]!;
    const c = Number.isNaN(x) ? 0 : Math.max(-1, Math.min(1, x));
    v.setInt16(44 + i * 2, Math.round(c < 0 ? c * 32768 : c * 32767), true);
  }
  return out;
}
