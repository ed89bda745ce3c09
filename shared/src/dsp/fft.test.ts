import { describe, expect, it } from 'vitest';
import { ComplexFft, RealFft } from './fft.ts';

/** The DFT by its definition, in float64: the reference the FFT must reproduce. */
function dft(re: Float64Array, im: Float64Array): { re: Float64Array; im: Float64Array } {
  const n = re.length;
  const outRe = new Float64Array(n);
  const outIm = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let t = 0; t < n; t++) {
      const a = (-2 * Math.PI * ((k * t) % n)) / n;
      sr += re[t]! * Math.cos(a) - im[t]! * Math.sin(a);
      si += re[t]! * Math.sin(a) + im[t]! * Math.cos(a);
    }
    outRe[k] = sr;
    outIm[k] = si;
  }
  return { re: outRe, im: outIm };
}

function noise(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = s / 1073741824 - 1;
  }
  return out;
}

describe('ComplexFft', () => {
  for (const n of [1, 2, 3, 4, 5, 7, 8, 12, 16, 30, 49, 143, 200, 256, 400]) {
    it(`forward() equals the DFT for n = ${n}`, () => {
      const re = noise(n, n);
      const im = noise(n, n + 1);
      const want = dft(re, im);
      const outRe = new Float64Array(n);
      const outIm = new Float64Array(n);
      new ComplexFft(n).forward(re, im, outRe, outIm);
      for (let k = 0; k < n; k++) {
        expect(Math.abs(outRe[k]! - want.re[k]!)).toBeLessThan(1e-9 * n);
        expect(Math.abs(outIm[k]! - want.im[k]!)).toBeLessThan(1e-9 * n);
      }
    });
  }

  it('rejects a length of 0 with DspOptionsError naming n_fft', () => {
    expect(() => new ComplexFft(0)).toThrow(/n_fft/);
  });
});

describe('RealFft', () => {
  for (const n of [2, 5, 8, 9, 400, 512, 1200, 2048]) {
    it(`forward() equals the DFT's first 1 + n/2 bins for n = ${n}`, () => {
      const x = noise(n, 7 * n);
      const want = dft(x, new Float64Array(n));
      const fft = new RealFft(n);
      const re = new Float64Array(fft.bins);
      const im = new Float64Array(fft.bins);
      fft.forward(x, re, im);
      expect(fft.bins).toBe(1 + Math.floor(n / 2));
      for (let k = 0; k < fft.bins; k++) {
        expect(Math.abs(re[k]! - want.re[k]!)).toBeLessThan(1e-9 * n);
        expect(Math.abs(im[k]! - want.im[k]!)).toBeLessThan(1e-9 * n);
      }
    });
  }
});

describe('RealFft.forwardWindowed()', () => {
  for (const n of [8, 9, 256, 400, 2048]) {
    it(`equals the DFT of source[at…at+n)·window for n = ${n}`, () => {
      const source = noise(3 * n, 11 * n);
      const window = noise(n, 13 * n);
      const at = n + 5;
      const frame = new Float64Array(n);
      for (let i = 0; i < n; i++) frame[i] = source[at + i]! * window[i]!;
      const want = dft(frame, new Float64Array(n));
      const fft = new RealFft(n);
      const re = new Float64Array(fft.bins);
      const im = new Float64Array(fft.bins);
      fft.forwardWindowed(source, at, window, re, im);
      for (let k = 0; k < fft.bins; k++) {
        expect(Math.abs(re[k]! - want.re[k]!)).toBeLessThan(1e-9 * n);
        expect(Math.abs(im[k]! - want.im[k]!)).toBeLessThan(1e-9 * n);
      }
    });
  }
});

describe('RealFft.powerWindowed()', () => {
  for (const [n, power] of [[8, 2], [9, 2], [400, 1], [2048, 2], [1200, 1.5]] as const) {
    it(`equals |DFT(source[at…at+n)·window)|^${power} for n = ${n}`, () => {
      const source = noise(3 * n, 17 * n);
      const window = noise(n, 19 * n);
      const at = 2 * n - 3;
      const frame = new Float64Array(n);
      for (let i = 0; i < n; i++) frame[i] = source[at + i]! * window[i]!;
      const want = dft(frame, new Float64Array(n));
      const fft = new RealFft(n);
      const out = new Float64Array(fft.bins);
      fft.powerWindowed(source, at, window, out, power);
      for (let k = 0; k < fft.bins; k++) {
        const ref = Math.pow(want.re[k]! ** 2 + want.im[k]! ** 2, power / 2);
        expect(Math.abs(out[k]! - ref)).toBeLessThan(1e-9 * n * Math.max(1, ref));
      }
    });
  }
});
