/**
 * Fast Fourier transforms over Float64Arrays, for any length (mixed radix 4, 2, 3, 5 and a generic
 * odd radix). Written here rather than taken from a package because the kernels must run unchanged in
 * an AudioWorklet, a Web Worker and Node with no dependency, must handle Whisper's n_fft of 400 (not
 * a power of two), and must allocate nothing per call: a plan holds its twiddles and scratch.
 *
 * Convention: forward transform, X[k] = Σ x[n]·e^(−2πi·kn/N) (numpy's `fft.fft`), unnormalised.
 */
import { checkInt } from './errors.ts';

/** Complex FFT plan of one length (split real/imaginary arrays). Not re-entrant: one plan per thread. */
export class ComplexFft {
  readonly n: number;
  /** (radix, remaining length) pairs, outermost first. */
  readonly #factors: number[];
  /**
   * Twiddles per level, laid out in the order the butterflies read them: level f holds
   * w^(q·u·stride_f) at [u·(p−1) + q − 1] for u < m, 1 ≤ q < p (w = e^(−2πi/n)).
   */
  readonly #levelRe: Float64Array[] = [];
  readonly #levelIm: Float64Array[] = [];
  /** e^(−2πi·j/p) for each generic radix p, j < p. */
  readonly #rootsRe = new Map<number, Float64Array>();
  readonly #rootsIm = new Map<number, Float64Array>();
  readonly #scratchRe: Float64Array;
  readonly #scratchIm: Float64Array;

  constructor(n: number) {
    this.n = checkInt('n_fft', n, 1, 1 << 24);
    this.#factors = factorize(n);
    let stride = 1;
    let maxRadix = 1;
    for (let f = 0; f < this.#factors.length; f += 2) {
      const p = this.#factors[f]!;
      const m = this.#factors[f + 1]!;
      maxRadix = Math.max(maxRadix, p);
      const re = new Float64Array(m * (p - 1));
      const im = new Float64Array(m * (p - 1));
      for (let u = 0; u < m; u++) {
        for (let q = 1; q < p; q++) {
          const phase = (-2 * Math.PI * ((q * u * stride) % n)) / n;
          re[u * (p - 1) + q - 1] = Math.cos(phase);
          im[u * (p - 1) + q - 1] = Math.sin(phase);
        }
      }
      this.#levelRe.push(re);
      this.#levelIm.push(im);
      if (p !== 2 && p !== 4 && !this.#rootsRe.has(p)) {
        this.#rootsRe.set(p, Float64Array.from({ length: p }, (_, j) => Math.cos((-2 * Math.PI * j) / p)));
        this.#rootsIm.set(p, Float64Array.from({ length: p }, (_, j) => Math.sin((-2 * Math.PI * j) / p)));
      }
      stride *= p;
    }
    this.#scratchRe = new Float64Array(maxRadix);
    this.#scratchIm = new Float64Array(maxRadix);
  }

  /** out = FFT(in). `in` and `out` must not alias; each array holds at least n values. */
  forward(inRe: Float64Array, inIm: Float64Array, outRe: Float64Array, outIm: Float64Array): void {
    if (this.n === 1) {
      outRe[0] = inRe[0]!;
      outIm[0] = inIm[0]!;
      return;
    }
    this.#work(outRe, outIm, 0, inRe, inIm, 0, 1, 0);
  }

  /** Decimation in time: transform the `stride`-spaced input starting at `inAt` into out[outAt…]. */
  #work(outRe: Float64Array, outIm: Float64Array, outAt: number, inRe: Float64Array, inIm: Float64Array, inAt: number, stride: number, f: number): void {
    const p = this.#factors[f]!;
    const m = this.#factors[f + 1]!;
    if (m === 1) {
      for (let q = 0; q < p; q++) {
        outRe[outAt + q] = inRe[inAt + q * stride]!;
        outIm[outAt + q] = inIm[inAt + q * stride]!;
      }
    } else {
      for (let q = 0; q < p; q++) this.#work(outRe, outIm, outAt + q * m, inRe, inIm, inAt + q * stride, stride * p, f + 2);
    }
    const level = f >> 1;
    if (p === 2) radix2(outRe, outIm, outAt, m, this.#levelRe[level]!, this.#levelIm[level]!);
    else if (p === 4) radix4(outRe, outIm, outAt, m, this.#levelRe[level]!, this.#levelIm[level]!);
    else this.#generic(outRe, outIm, outAt, m, p, level);
  }

  #generic(re: Float64Array, im: Float64Array, at: number, m: number, p: number, level: number): void {
    const twRe = this.#levelRe[level]!;
    const twIm = this.#levelIm[level]!;
    const rRe = this.#rootsRe.get(p)!;
    const rIm = this.#rootsIm.get(p)!;
    const sRe = this.#scratchRe;
    const sIm = this.#scratchIm;
    for (let u = 0; u < m; u++) {
      sRe[0] = re[at + u]!;
      sIm[0] = im[at + u]!;
      const tw = u * (p - 1) - 1;
      for (let q = 1; q < p; q++) {
        // Apply the inter-stage twiddle w^(q·u·stride) while gathering.
        const idx = at + u + q * m;
        const xr = re[idx]!, xi = im[idx]!;
        const wr = twRe[tw + q]!, wi = twIm[tw + q]!;
        sRe[q] = xr * wr - xi * wi;
        sIm[q] = xr * wi + xi * wr;
      }
      for (let k = 0; k < p; k++) {
        let accR = sRe[0]!;
        let accI = sIm[0]!;
        let j = 0;
        for (let q = 1; q < p; q++) {
          j += k;
          if (j >= p) j -= p;
          accR += sRe[q]! * rRe[j]! - sIm[q]! * rIm[j]!;
          accI += sRe[q]! * rIm[j]! + sIm[q]! * rRe[j]!;
        }
        re[at + u + k * m] = accR;
        im[at + u + k * m] = accI;
      }
    }
  }
}

function radix2(re: Float64Array, im: Float64Array, at: number, m: number, twRe: Float64Array, twIm: Float64Array): void {
  for (let u = 0; u < m; u++) {
    const a = at + u;
    const b = a + m;
    const wr = twRe[u]!;
    const wi = twIm[u]!;
    const tr = re[b]! * wr - im[b]! * wi;
    const ti = re[b]! * wi + im[b]! * wr;
    re[b] = re[a]! - tr;
    im[b] = im[a]! - ti;
    re[a] = re[a]! + tr;
    im[a] = im[a]! + ti;
  }
}

function radix4(re: Float64Array, im: Float64Array, at: number, m: number, twRe: Float64Array, twIm: Float64Array): void {
  for (let u = 0; u < m; u++) {
    const i0 = at + u;
    const i1 = i0 + m;
    const i2 = i1 + m;
    const i3 = i2 + m;
    const t = 3 * u;
    const w1r = twRe[t]!, w1i = twIm[t]!;
    const w2r = twRe[t + 1]!, w2i = twIm[t + 1]!;
    const w3r = twRe[t + 2]!, w3i = twIm[t + 2]!;
    const x0r = re[i0]!, x0i = im[i0]!;
    const x1r = re[i1]! * w1r - im[i1]! * w1i, x1i = re[i1]! * w1i + im[i1]! * w1r;
    const x2r = re[i2]! * w2r - im[i2]! * w2i, x2i = re[i2]! * w2i + im[i2]! * w2r;
    const x3r = re[i3]! * w3r - im[i3]! * w3i, x3i = re[i3]! * w3i + im[i3]! * w3r;
    const s02r = x0r + x2r, s02i = x0i + x2i;
    const d02r = x0r - x2r, d02i = x0i - x2i;
    const s13r = x1r + x3r, s13i = x1i + x3i;
    const d13r = x1r - x3r, d13i = x1i - x3i;
    re[i0] = s02r + s13r;
    im[i0] = s02i + s13i;
    re[i2] = s02r - s13r;
    im[i2] = s02i - s13i;
    // Forward transform: X1 = d02 − i·d13, X3 = d02 + i·d13.
    re[i1] = d02r + d13i;
    im[i1] = d02i - d13r;
    re[i3] = d02r - d13i;
    im[i3] = d02i + d13r;
  }
}

function factorize(n: number): number[] {
  const out: number[] = [];
  let rest = n;
  for (const p of [4, 2, 3, 5]) {
    while (rest % p === 0 && rest > 1) {
      rest /= p;
      out.push(p, rest);
    }
  }
  for (let p = 7; rest > 1; p += 2) {
    while (rest % p === 0) {
      rest /= p;
      out.push(p, rest);
    }
    if (p * p > rest && rest > 1) {
      out.push(rest, 1);
      rest = 1;
    }
  }
  if (out.length === 0) out.push(1, 1);
  return out;
}

/**
 * FFT of a real signal of length n, giving bins 0…n/2 (numpy's `fft.rfft`). Even n runs one complex
 * FFT of n/2 on the packed even/odd samples; odd n runs a full complex FFT.
 */
export class RealFft {
  readonly n: number;
  /** Number of output bins, 1 + ⌊n/2⌋. */
  readonly bins: number;
  readonly #half: ComplexFft | undefined;
  readonly #full: ComplexFft | undefined;
  readonly #aRe: Float64Array;
  readonly #aIm: Float64Array;
  readonly #bRe: Float64Array;
  readonly #bIm: Float64Array;
  readonly #wRe: Float64Array;
  readonly #wIm: Float64Array;

  constructor(n: number) {
    this.n = checkInt('n_fft', n, 1, 1 << 24);
    this.bins = 1 + Math.floor(n / 2);
    const even = n % 2 === 0 && n >= 2;
    const len = even ? n / 2 : n;
    if (even) this.#half = new ComplexFft(len);
    else this.#full = new ComplexFft(len);
    this.#aRe = new Float64Array(len);
    this.#aIm = new Float64Array(len);
    this.#bRe = new Float64Array(len);
    this.#bIm = new Float64Array(len);
    this.#wRe = new Float64Array(this.bins);
    this.#wIm = new Float64Array(this.bins);
    for (let k = 0; k < this.bins; k++) {
      this.#wRe[k] = Math.cos((-2 * Math.PI * k) / n);
      this.#wIm[k] = Math.sin((-2 * Math.PI * k) / n);
    }
  }

  /** Writes bins 0…n/2 of FFT(input[0…n)) into outRe/outIm (each at least `bins` long). */
  forward(input: ArrayLike<number>, outRe: Float64Array, outIm: Float64Array): void {
    const aRe = this.#aRe, aIm = this.#aIm, bRe = this.#bRe, bIm = this.#bIm;
    if (this.#full) {
      for (let i = 0; i < this.n; i++) {
        aRe[i] = input[i]!;
        aIm[i] = 0;
      }
      this.#full.forward(aRe, aIm, bRe, bIm);
      for (let k = 0; k < this.bins; k++) {
        outRe[k] = bRe[k]!;
        outIm[k] = bIm[k]!;
      }
      return;
    }
    const h = this.n / 2;
    for (let i = 0; i < h; i++) {
      aRe[i] = input[2 * i]!;
      aIm[i] = input[2 * i + 1]!;
    }
    this.#half!.forward(aRe, aIm, bRe, bIm);
    // Split Z = FFT(even + i·odd): E[k] = (Z[k] + conj Z[h−k]) / 2, O[k] = (Z[k] − conj Z[h−k]) / 2i,
    // X[k] = E[k] + w^k·O[k].
    for (let k = 0; k <= h; k++) {
      const zr = bRe[k % h]!, zi = bIm[k % h]!;
      const cr = bRe[(h - k) % h]!, ci = -bIm[(h - k) % h]!;
      const er = 0.5 * (zr + cr), ei = 0.5 * (zi + ci);
      const dr = zr - cr, di = zi - ci;
      const or = 0.5 * di, oi = -0.5 * dr;
      const wr = this.#wRe[k]!, wi = this.#wIm[k]!;
      outRe[k] = er + wr * or - wi * oi;
      outIm[k] = ei + wr * oi + wi * or;
    }
  }
}
