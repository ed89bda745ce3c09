import { describe, expect, it } from 'vitest';
import { binOf, magnitudeAt } from './spectrum.ts';

/**
 * A reference spectrum the way the Web Audio spec defines AnalyserNode's (Blackman window, DFT,
 * magnitude / N, in dB; no smoothing), computed directly for the bins asked for.
 */
function referenceSpectrumDb(samples: Float32Array, bins: number[]): Float32Array {
  const n = samples.length;
  const a0 = 0.42, a1 = 0.5, a2 = 0.08;
  const w = Float32Array.from(samples, (x, i) => x * (a0 - a1 * Math.cos((2 * Math.PI * i) / n) + a2 * Math.cos((4 * Math.PI * i) / n)));
  const out = new Float32Array(n / 2).fill(Number.NEGATIVE_INFINITY);
  for (const k of bins) {
    let re = 0, im = 0;
    for (let i = 0; i < n; i++) {
      const phi = (-2 * Math.PI * k * i) / n;
      re += w[i]! * Math.cos(phi);
      im += w[i]! * Math.sin(phi);
    }
    out[k] = 20 * Math.log10(Math.hypot(re, im) / n);
  }
  return out;
}

function tone(hz: number, n: number, rate: number, amp = 0.5): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / rate));
}

describe('magnitudeAt', () => {
  const rate = 48_000;
  const fft = 4096;
  const around = (hz: number) => [-1, 0, 1].map((d) => binOf(hz, rate, fft) + d);

  it('finds a 440 Hz tone at 440 Hz and not at 1000 Hz (the e2e per-speaker check)', () => {
    const spec = referenceSpectrumDb(tone(440, fft, rate), [...around(440), ...around(1000)]);
    const at440 = magnitudeAt(spec, rate, fft, 440);
    const at1000 = magnitudeAt(spec, rate, fft, 1000);
    expect(at440).toBeGreaterThan(-25);
    expect(at1000).toBeLessThan(at440 - 40);
  });

  it('reads a tone between two bins at nearly its on-bin level', () => {
    const offBin = 440 + (rate / fft) * 0.5; // half a bin away
    const onBin = referenceSpectrumDb(tone(binOf(440, rate, fft) * (rate / fft), fft, rate), around(440));
    const between = referenceSpectrumDb(tone(offBin, fft, rate), [...around(440), ...around(offBin)]);
    expect(Math.abs(magnitudeAt(between, rate, fft, offBin) - magnitudeAt(onBin, rate, fft, 440))).toBeLessThan(2);
  });

  it('maps frequencies to the nearest bin', () => {
    expect(binOf(0, rate, fft)).toBe(0);
    expect(binOf(440, rate, fft)).toBe(38); // 440 / 11.71875 = 37.5 → 38
    expect(binOf(24_000, rate, fft)).toBe(2048);
  });

  it('answers −∞ outside 0..Nyquist and for an empty spectrum', () => {
    const spec = new Float32Array(fft / 2).fill(-30);
    expect(magnitudeAt(spec, rate, fft, -5)).toBe(Number.NEGATIVE_INFINITY);
    expect(magnitudeAt(spec, rate, fft, 30_000)).toBe(Number.NEGATIVE_INFINITY);
    expect(magnitudeAt(spec, rate, fft, Number.NaN)).toBe(Number.NEGATIVE_INFINITY);
    expect(magnitudeAt(new Float32Array(0), rate, fft, 440)).toBe(Number.NEGATIVE_INFINITY);
    expect(magnitudeAt(spec, rate, fft, 24_000)).toBe(-30);
  });
});
