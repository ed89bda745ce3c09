/**
 * Fast Fourier transforms over Float64Arrays, for any length (mixed radix 8, 4, 2, 3, 5 and a generic
 * odd radix). Written here rather than taken from a package because the kernels must run unchanged in
 * an AudioWorklet, a Web Worker and Node with no dependency, must handle Whisper's n_fft of 400 (not
 * a power of two), and must allocate nothing per call: a plan holds its twiddles and scratch.
 *
 * Shape: decimation in time, iterative. A plan precomputes the digit-reversal permutation of its
 * mixed radix (so input is gathered once, in butterfly order) and every level's twiddles in the order
 * the butterflies read them; `forward()` then runs the levels innermost first over contiguous blocks,
 * with no recursion and no per-call allocation.
 *
 * Convention: forward transform, X[k] = Σ x[n]·e^(−2πi·kn/N) (numpy's `fft.fft`), unnormalised.
 */
import { radix2, radix2First, radix4, radix4First, radix5, radix8 } from './butterflies.ts';
import { checkInt } from './errors.ts';

/** One butterfly level: radix p over blocks of p·m values, with its twiddles. */
interface Level {
  p: number;
  m: number;
  /** w^(q·u·stride) at [u·(p−1) + q − 1] for u < m, 1 ≤ q < p (w = e^(−2πi/n)). */
  twRe: Float64Array;
  twIm: Float64Array;
  /** The same twiddles interleaved (re, im, re, im …), one array for the radix-4 and radix-5 loops to read. */
  tw: Float64Array;
}

/** Complex FFT plan of one length (split real/imaginary arrays). Not re-entrant: one plan per thread. */
export class ComplexFft {
  readonly n: number;
  /**
   * Digit-reversal order: butterfly slot i reads input index `permutation[i]`. Callers that gather
   * their own input (RealFft, fused windowing) load slot i from there and call `forwardPermuted()`.
   */
  readonly permutation: Int32Array;
  /** Levels innermost first (the order they run). */
  readonly #levels: Level[] = [];
  /** e^(−2πi·j/p) for each generic radix p, j < p. */
  readonly #rootsRe = new Map<number, Float64Array>();
  readonly #rootsIm = new Map<number, Float64Array>();
  readonly #scratchRe: Float64Array;
  readonly #scratchIm: Float64Array;

  constructor(n: number) {
    this.n = checkInt('n_fft', n, 1, 1 << 24);
    const factors = factorize(n);
    let stride = 1;
    let maxRadix = 1;
    const outerFirst: Level[] = [];
    for (let f = 0; f < factors.length; f += 2) {
      const p = factors[f]!;
      const m = factors[f + 1]!;
      maxRadix = Math.max(maxRadix, p);
      const twRe = new Float64Array(m * (p - 1));
      const twIm = new Float64Array(m * (p - 1));
      for (let u = 0; u < m; u++) {
        for (let q = 1; q < p; q++) {
          const phase = (-2 * Math.PI * ((q * u * stride) % n)) / n;
          twRe[u * (p - 1) + q - 1] = Math.cos(phase);
          twIm[u * (p - 1) + q - 1] = Math.sin(phase);
        }
      }
      const tw = new Float64Array(2 * twRe.length);
      for (let i = 0; i < twRe.length; i++) {
        tw[2 * i] = twRe[i]!;
        tw[2 * i + 1] = twIm[i]!;
      }
      outerFirst.push({ p, m, twRe, twIm, tw });
      if (p !== 2 && p !== 4 && p !== 5 && p !== 8 && !this.#rootsRe.has(p)) {
        this.#rootsRe.set(p, Float64Array.from({ length: p }, (_, j) => Math.cos((-2 * Math.PI * j) / p)));
        this.#rootsIm.set(p, Float64Array.from({ length: p }, (_, j) => Math.sin((-2 * Math.PI * j) / p)));
      }
      stride *= p;
    }
    this.#levels = outerFirst.reverse();
    this.permutation = new Int32Array(n);
    if (n > 1) digitReverse(this.permutation, factors, 0, 0, 1, 0);
    this.#scratchRe = new Float64Array(maxRadix);
    this.#scratchIm = new Float64Array(maxRadix);
  }

  /** out = FFT(in). `in` and `out` must not alias; each array holds at least n values. */
  forward(inRe: Float64Array, inIm: Float64Array, outRe: Float64Array, outIm: Float64Array): void {
    const perm = this.permutation;
    for (let i = 0; i < this.n; i++) {
      const j = perm[i]!;
      outRe[i] = inRe[j]!;
      outIm[i] = inIm[j]!;
    }
    this.forwardPermuted(outRe, outIm);
  }

  /** Radix of the innermost level (the first to run): 4 lets a caller fuse it into its gather. */
  get innermostRadix(): number {
    return this.#levels[0]!.p;
  }

  /**
   * In-place FFT of values already gathered in `permutation` order (slot i = input[permutation[i]]).
   * `fromLevel` 1 skips the innermost level, for a caller that ran it while gathering.
   */
  forwardPermuted(re: Float64Array, im: Float64Array, fromLevel = 0): void {
    const n = this.n;
    const levels = this.#levels;
    for (let l = fromLevel; l < levels.length; l++) {
      const level = levels[l]!;
      const { p, m } = level;
      if (p === 4) {
        if (m === 1) radix4First(re, im, n);
        else radix4(re, im, n, m, level.tw);
      } else if (p === 2) {
        if (m === 1) radix2First(re, im, n);
        else radix2(re, im, n, m, level.twRe, level.twIm);
      } else if (p === 8) {
        radix8(re, im, n, m, level.tw);
      } else if (p === 5) {
        radix5(re, im, n, m, level.tw);
      } else {
        for (let at = 0; at < n; at += p * m) this.#generic(re, im, at, level);
      }
    }
  }

  #generic(re: Float64Array, im: Float64Array, at: number, level: Level): void {
    const { p, m, twRe, twIm } = level;
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

/** perm[outAt + …] for the sub-transform of the `stride`-spaced input from `inAt` (the recursive DIT order). */
function digitReverse(perm: Int32Array, factors: number[], outAt: number, inAt: number, stride: number, f: number): void {
  const p = factors[f]!;
  const m = factors[f + 1]!;
  for (let q = 0; q < p; q++) {
    if (m === 1) perm[outAt + q] = inAt + q * stride;
    else digitReverse(perm, factors, outAt + q * m, inAt + q * stride, stride * p, f + 2);
  }
}

/**
 * (radix, remaining length) pairs, outermost first. The innermost radix is 4 whenever n allows
 * (RealFft runs that level inside its gather); above it radix 8 is preferred (fewer passes over the
 * data, fewer twiddle products), then 4, 2, 3, 5 and odd primes.
 */
function factorize(n: number): number[] {
  const radices: number[] = [];
  const inner4 = n % 4 === 0;
  let rest = inner4 ? n / 4 : n;
  for (const p of [8, 4, 2, 3, 5]) {
    while (rest % p === 0 && rest > 1) {
      rest /= p;
      radices.push(p);
    }
  }
  for (let p = 7; rest > 1; p += 2) {
    while (rest % p === 0) {
      rest /= p;
      radices.push(p);
    }
    if (p * p > rest && rest > 1) {
      radices.push(rest);
      rest = 1;
    }
  }
  if (inner4) radices.push(4);
  if (radices.length === 0) radices.push(1);
  const out: number[] = [];
  let m = n;
  for (const p of radices) {
    m /= p;
    out.push(p, m);
  }
  return out;
}

/**
 * FFT of a real signal of length n, giving bins 0…n/2 (numpy's `fft.rfft`). Even n runs one complex
 * FFT of n/2 on the packed even/odd samples (gathered straight into butterfly order, windowed on the
 * way in by `forwardWindowed`) and splits the result; odd n runs a full complex FFT.
 */
export class RealFft {
  readonly n: number;
  /** Number of output bins, 1 + ⌊n/2⌋. */
  readonly bins: number;
  readonly #half: ComplexFft | undefined;
  readonly #full: ComplexFft | undefined;
  /** Input index of butterfly slot i: 2·half.permutation[i] (even n) or full.permutation[i]. */
  readonly #gather: Int32Array;
  /** Even n whose half-length FFT starts with a radix-4 level: `forwardWindowed` runs that level itself. */
  readonly #fuseFirst: boolean;
  /** The last window given to `forwardWindowed`, and its values in gather order. */
  #lastWindow: Float64Array | undefined;
  readonly #gathered: Float64Array;
  readonly #aRe: Float64Array;
  readonly #aIm: Float64Array;
  readonly #wRe: Float64Array;
  readonly #wIm: Float64Array;

  constructor(n: number) {
    this.n = checkInt('n_fft', n, 1, 1 << 24);
    this.bins = 1 + Math.floor(n / 2);
    const even = n % 2 === 0 && n >= 2;
    const len = even ? n / 2 : n;
    if (even) this.#half = new ComplexFft(len);
    else this.#full = new ComplexFft(len);
    const perm = (this.#half ?? this.#full)!.permutation;
    this.#gather = even ? perm.map((j) => 2 * j) : perm;
    this.#fuseFirst = even && len >= 4 && this.#half!.innermostRadix === 4;
    this.#gathered = new Float64Array(this.#fuseFirst ? n : 0);
    this.#aRe = new Float64Array(len);
    this.#aIm = new Float64Array(len);
    this.#wRe = new Float64Array(this.bins);
    this.#wIm = new Float64Array(this.bins);
    for (let k = 0; k < this.bins; k++) {
      this.#wRe[k] = Math.cos((-2 * Math.PI * k) / n);
      this.#wIm[k] = Math.sin((-2 * Math.PI * k) / n);
    }
  }

  /** Writes bins 0…n/2 of FFT(input[0…n)) into outRe/outIm (each at least `bins` long). */
  forward(input: ArrayLike<number>, outRe: Float64Array, outIm: Float64Array): void {
    const g = this.#gather, aRe = this.#aRe, aIm = this.#aIm;
    if (this.#full) {
      for (let i = 0; i < this.n; i++) {
        aRe[i] = input[g[i]!]!;
        aIm[i] = 0;
      }
    } else {
      for (let i = 0; i < aRe.length; i++) {
        const j = g[i]!;
        aRe[i] = input[j]!;
        aIm[i] = input[j + 1]!;
      }
    }
    this.#finish(outRe, outIm);
  }

  /**
   * FFT of source[at + i]·window[i] for i < n, without a separate windowing pass. The caller keeps
   * `at … at + n` inside `source`. The window's values are cached by identity (reordered once):
   * pass a window that is never written to, like `analysisWindow()`'s.
   */
  forwardWindowed(source: ArrayLike<number>, at: number, window: Float64Array, outRe: Float64Array, outIm: Float64Array): void {
    this.#finish(outRe, outIm, this.#loadWindowed(source, at, window));
  }

  /**
   * |X[k]|^power (k ≤ n/2) of source[at + i]·window[i] into `out`: `forwardWindowed` with the power
   * taken inside the split, so the complex bins are never stored (less memory traffic per frame).
   */
  powerWindowed(source: ArrayLike<number>, at: number, window: Float64Array, out: Float64Array, power: number): void {
    const fromLevel = this.#loadWindowed(source, at, window);
    const aRe = this.#aRe, aIm = this.#aIm;
    if (this.#full) {
      this.#full.forwardPermuted(aRe, aIm);
      for (let k = 0; k < this.bins; k++) out[k] = aRe[k]! * aRe[k]! + aIm[k]! * aIm[k]!;
    } else {
      this.#half!.forwardPermuted(aRe, aIm, fromLevel);
      const h = this.n / 2;
      const z0r = aRe[0]!, z0i = aIm[0]!;
      out[0] = (z0r + z0i) * (z0r + z0i);
      out[h] = (z0r - z0i) * (z0r - z0i);
      const wRe = this.#wRe, wIm = this.#wIm;
      // The split of #finish, keeping only |X|² of bins k and h − k.
      for (let k = 1, j = h - 1; k <= j; k++, j--) {
        const zr = aRe[k]!, zi = aIm[k]!;
        const yr = aRe[j]!, yi = aIm[j]!;
        const er = 0.5 * (zr + yr), ei = 0.5 * (zi - yi);
        const or = 0.5 * (zi + yi), oi = -0.5 * (zr - yr);
        const wr = wRe[k]!, wi = wIm[k]!;
        const tr = wr * or - wi * oi, ti = wr * oi + wi * or;
        const pr = er + tr, pi = ei + ti, qr = er - tr, qi = ti - ei;
        out[k] = pr * pr + pi * pi;
        out[j] = qr * qr + qi * qi;
      }
    }
    if (power === 1) {
      for (let k = 0; k < this.bins; k++) out[k] = Math.sqrt(out[k]!);
    } else if (power !== 2) {
      const half = power / 2;
      for (let k = 0; k < this.bins; k++) out[k] = Math.pow(out[k]!, half);
    }
  }

  /** Gathers source·window into butterfly order; returns the level the FFT continues from. */
  #loadWindowed(source: ArrayLike<number>, at: number, window: Float64Array): number {
    const g = this.#gather, aRe = this.#aRe, aIm = this.#aIm;
    if (this.#full) {
      for (let i = 0; i < this.n; i++) {
        const j = g[i]!;
        aRe[i] = source[at + j]! * window[j]!;
        aIm[i] = 0;
      }
    } else if (this.#fuseFirst) {
      // The innermost radix-4 level (all twiddles 1) runs on the gathered values directly.
      const wg = this.#windowInGatherOrder(window);
      for (let i = 0; i < aRe.length; i += 4) {
        const j0 = at + g[i]!, j1 = at + g[i + 1]!, j2 = at + g[i + 2]!, j3 = at + g[i + 3]!;
        const v = 2 * i;
        const x0r = source[j0]! * wg[v]!, x0i = source[j0 + 1]! * wg[v + 1]!;
        const x1r = source[j1]! * wg[v + 2]!, x1i = source[j1 + 1]! * wg[v + 3]!;
        const x2r = source[j2]! * wg[v + 4]!, x2i = source[j2 + 1]! * wg[v + 5]!;
        const x3r = source[j3]! * wg[v + 6]!, x3i = source[j3 + 1]! * wg[v + 7]!;
        const s02r = x0r + x2r, s02i = x0i + x2i;
        const d02r = x0r - x2r, d02i = x0i - x2i;
        const s13r = x1r + x3r, s13i = x1i + x3i;
        const d13r = x1r - x3r, d13i = x1i - x3i;
        aRe[i] = s02r + s13r;
        aIm[i] = s02i + s13i;
        aRe[i + 2] = s02r - s13r;
        aIm[i + 2] = s02i - s13i;
        aRe[i + 1] = d02r + d13i;
        aIm[i + 1] = d02i - d13r;
        aRe[i + 3] = d02r - d13i;
        aIm[i + 3] = d02i + d13r;
      }
      return 1;
    } else {
      for (let i = 0; i < aRe.length; i++) {
        const j = g[i]!;
        aRe[i] = source[at + j]! * window[j]!;
        aIm[i] = source[at + j + 1]! * window[j + 1]!;
      }
    }
    return 0;
  }

  /**
   * `window` reordered the way the even-n gather reads it (slot i: window[g[i]], window[g[i] + 1]), so
   * the fused loop reads it sequentially. Kept for the last window seen (a SpectrumFrame passes one).
   */
  #windowInGatherOrder(window: Float64Array): Float64Array {
    if (window !== this.#lastWindow) {
      const g = this.#gather;
      for (let i = 0; i < g.length; i++) {
        this.#gathered[2 * i] = window[g[i]!]!;
        this.#gathered[2 * i + 1] = window[g[i]! + 1]!;
      }
      this.#lastWindow = window;
    }
    return this.#gathered;
  }

  #finish(outRe: Float64Array, outIm: Float64Array, fromLevel = 0): void {
    const aRe = this.#aRe, aIm = this.#aIm;
    if (this.#full) {
      this.#full.forwardPermuted(aRe, aIm);
      for (let k = 0; k < this.bins; k++) {
        outRe[k] = aRe[k]!;
        outIm[k] = aIm[k]!;
      }
      return;
    }
    this.#half!.forwardPermuted(aRe, aIm, fromLevel);
    // Split Z = FFT(even + i·odd): E[k] = (Z[k] + conj Z[h−k]) / 2, O[k] = (Z[k] − conj Z[h−k]) / 2i,
    // X[k] = E[k] + w^k·O[k]. k = 0 and k = h both read Z[0].
    const h = this.n / 2;
    const z0r = aRe[0]!, z0i = aIm[0]!;
    outRe[0] = z0r + z0i;
    outIm[0] = 0;
    outRe[h] = z0r - z0i;
    outIm[h] = 0;
    // Bins k and h − k read the same two values of Z: compute both per pass (w^(h−k) = −conj w^k).
    const wRe = this.#wRe, wIm = this.#wIm;
    for (let k = 1, j = h - 1; k <= j; k++, j--) {
      const zr = aRe[k]!, zi = aIm[k]!;
      const yr = aRe[j]!, yi = aIm[j]!;
      // E[k] = (Z[k] + conj Z[j]) / 2, O[k] = (Z[k] − conj Z[j]) / 2i; E[j] = conj E[k], O[j] = conj O[k].
      const er = 0.5 * (zr + yr), ei = 0.5 * (zi - yi);
      const or = 0.5 * (zi + yi), oi = -0.5 * (zr - yr);
      const wr = wRe[k]!, wi = wIm[k]!;
      const tr = wr * or - wi * oi, ti = wr * oi + wi * or;
      outRe[k] = er + tr;
      outIm[k] = ei + ti;
      // X[j] = conj E[k] + w^j·conj O[k], with w^j = −conj w^k: w^j·conj O = −conj(w^k·O).
      outRe[j] = er - tr;
      outIm[j] = ti - ei;
    }
  }
}
