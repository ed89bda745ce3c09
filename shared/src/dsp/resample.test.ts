import { describe, expect, it } from 'vitest';
import { resample, Resampler } from './resample.ts';
import { rms } from './energy.ts';

function tone(hz: number, rate: number, seconds: number, amp = 0.5): Float32Array {
  return Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / rate));
}

describe('resample()', () => {
  for (const [from, to] of [
    [48000, 16000],
    [44100, 16000],
    [22050, 16000],
    [8000, 16000],
    [16000, 48000],
  ] as const) {
    it(`keeps a 1 kHz tone within 1e-3 of the ideal sine, ${from} → ${to} Hz`, () => {
      const out = resample(tone(1000, from, 0.5), from, to);
      expect(out.length).toBe(Math.ceil((Math.round(from * 0.5) * to) / from));
      const ideal = tone(1000, to, 0.5);
      let maxErr = 0;
      // Skip the edges, where the filter reads the zeros outside the signal.
      for (let i = 200; i < out.length - 200; i++) maxErr = Math.max(maxErr, Math.abs(out[i]! - ideal[i]!));
      expect(maxErr).toBeLessThan(1e-3);
    });
  }

  it('removes a tone above the new Nyquist frequency (48 → 16 kHz, 9 kHz tone below −60 dB)', () => {
    const out = resample(tone(9000, 48000, 0.5), 48000, 16000);
    expect(20 * Math.log10(rms(out, 200, out.length - 200) / (0.5 / Math.SQRT2))).toBeLessThan(-60);
  });

  it('returns a copy when the rates are equal, and rejects a rate of 0', () => {
    const x = tone(100, 8000, 0.01);
    const y = resample(x, 8000, 8000);
    expect(Array.from(y)).toEqual(Array.from(x));
    expect(y).not.toBe(x);
    expect(() => resample(x, 0, 8000)).toThrow(/from_rate/);
  });
});

describe('Resampler', () => {
  it('processInput() in uneven chunks plus flush() equals resample() of the whole signal', () => {
    const x = tone(440, 48000, 0.3);
    for (let i = 0; i < x.length; i++) x[i] = x[i]! + 0.1 * Math.sin(i * 0.37);
    const want = resample(x, 48000, 16000);
    const r = new Resampler(48000, 16000, {}, 960);
    const got: number[] = [];
    const sizes = [960, 1, 7, 2000, 333];
    let at = 0;
    for (let i = 0; at < x.length; i++) {
      const n = sizes[i % sizes.length]!;
      got.push(...r.processInput(x.subarray(at, at + n)));
      at += n;
    }
    got.push(...r.flush());
    expect(got.length).toBe(want.length);
    let maxErr = 0;
    for (let i = 0; i < got.length; i++) maxErr = Math.max(maxErr, Math.abs(got[i]! - want[i]!));
    expect(maxErr).toBeLessThan(1e-6);
  });
});
