import { describe, expect, it } from 'vitest';
import { decodeWav } from '@promethean/shared';
import { encodeWav16 } from './wav.ts';

describe('encodeWav16', () => {
  it('writes a WAV the shared reader reads back (rate, channels, samples to 1/32767)', () => {
    const x = Float32Array.from({ length: 480 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 48_000));
    const w = decodeWav(encodeWav16(x, 48_000, 1));
    expect(w.sampleRate).toBe(48_000);
    expect(w.channels).toBe(1);
    expect(w.format).toBe('s16');
    for (let i = 0; i < x.length; i++) expect(Math.abs(w.mono[i]! - x[i]!)).toBeLessThan(1 / 32_000);
  });

  it('clips out-of-range samples and writes NaN as 0', () => {
    const w = encodeWav16(Float32Array.from([2, -2, Number.NaN]), 8000);
    const v = new DataView(w.buffer);
    expect([v.getInt16(44, true), v.getInt16(46, true), v.getInt16(48, true)]).toEqual([32767, -32768, 0]);
  });

  it('rejects a bad rate or channel count with RangeError', () => {
    expect(() => encodeWav16(new Float32Array(1), 0)).toThrow(RangeError);
    expect(() => encodeWav16(new Float32Array(1), 48_000, 0)).toThrow(RangeError);
  });
});
