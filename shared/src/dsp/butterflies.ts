/**
 * The FFT's butterfly levels (radix 2, 4, 5, 8), each over every block of one level of an in-place,
 * digit-reversed decimation-in-time transform: split from `fft.ts`, which plans the levels. Arrays are
 * split real/imaginary Float64Arrays. A level's twiddles w^(q·u·stride) sit at [u·(p−1) + q − 1]:
 * split (`twRe`, `twIm`) for radix 2, interleaved (`tw`: re at 2·that index, im after it) for 4, 5 and 8.
 *
 * The levels are unrolled by hand on purpose, and their twiddle products and 4-point DFTs repeat
 * (also in `fft.ts`'s fused first level): each input stays in a local the JIT keeps in a register. A
 * loop over the inputs or a shared helper per product means arrays or calls in the innermost loop of
 * the mel kernels, which are below their 1000× real-time goal already (docs/dsp.md).
 */

/** Innermost radix-2 level: every twiddle is 1. */
export function radix2First(re: Float64Array, im: Float64Array, n: number): void {
  for (let a = 0; a < n; a += 2) {
    const xr = re[a]!, xi = im[a]!, yr = re[a + 1]!, yi = im[a + 1]!;
    re[a] = xr + yr;
    im[a] = xi + yi;
    re[a + 1] = xr - yr;
    im[a + 1] = xi - yi;
  }
}

export function radix2(re: Float64Array, im: Float64Array, n: number, m: number, twRe: Float64Array, twIm: Float64Array): void {
  for (let at = 0; at < n; at += 2 * m) {
    for (let u = 0; u < m; u++) {
      const a = at + u;
      const b = a + m;
      const wr = twRe[u]!;
      const wi = twIm[u]!;
      const br = re[b]!, bi = im[b]!;
      const tr = br * wr - bi * wi;
      const ti = br * wi + bi * wr;
      const ar = re[a]!, ai = im[a]!;
      re[b] = ar - tr;
      im[b] = ai - ti;
      re[a] = ar + tr;
      im[a] = ai + ti;
    }
  }
}

/** Innermost radix-4 level: every twiddle is 1. */
export function radix4First(re: Float64Array, im: Float64Array, n: number): void {
  for (let i0 = 0; i0 < n; i0 += 4) {
    const x0r = re[i0]!, x0i = im[i0]!;
    const x1r = re[i0 + 1]!, x1i = im[i0 + 1]!;
    const x2r = re[i0 + 2]!, x2i = im[i0 + 2]!;
    const x3r = re[i0 + 3]!, x3i = im[i0 + 3]!;
    const s02r = x0r + x2r, s02i = x0i + x2i;
    const d02r = x0r - x2r, d02i = x0i - x2i;
    const s13r = x1r + x3r, s13i = x1i + x3i;
    const d13r = x1r - x3r, d13i = x1i - x3i;
    re[i0] = s02r + s13r;
    im[i0] = s02i + s13i;
    re[i0 + 2] = s02r - s13r;
    im[i0 + 2] = s02i - s13i;
    re[i0 + 1] = d02r + d13i;
    im[i0 + 1] = d02i - d13r;
    re[i0 + 3] = d02r - d13i;
    im[i0 + 3] = d02i + d13r;
  }
}

export function radix4(re: Float64Array, im: Float64Array, n: number, m: number, tw: Float64Array): void {
  for (let at = 0; at < n; at += 4 * m) {
    for (let u = 0; u < m; u++) {
      const i0 = at + u;
      const i1 = i0 + m;
      const i2 = i1 + m;
      const i3 = i2 + m;
      const t = 6 * u;
      const w1r = tw[t]!, w1i = tw[t + 1]!;
      const w2r = tw[t + 2]!, w2i = tw[t + 3]!;
      const w3r = tw[t + 4]!, w3i = tw[t + 5]!;
      const x0r = re[i0]!, x0i = im[i0]!;
      const y1r = re[i1]!, y1i = im[i1]!;
      const y2r = re[i2]!, y2i = im[i2]!;
      const y3r = re[i3]!, y3i = im[i3]!;
      const x1r = y1r * w1r - y1i * w1i, x1i = y1r * w1i + y1i * w1r;
      const x2r = y2r * w2r - y2i * w2i, x2i = y2r * w2i + y2i * w2r;
      const x3r = y3r * w3r - y3i * w3i, x3i = y3r * w3i + y3i * w3r;
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
}

const C1 = Math.cos((2 * Math.PI) / 5);
const C2 = Math.cos((4 * Math.PI) / 5);
const S1 = Math.sin((2 * Math.PI) / 5);
const S2 = Math.sin((4 * Math.PI) / 5);

/**
 * Radix-5 level (Whisper's n_fft 400 = 2·200 = 2·4·2·5·5): the 5-point DFT through its symmetric
 * sums t1 = x1 + x4, t2 = x2 + x3 and differences t3 = x1 − x4, t4 = x2 − x3, 4 real multiplies per
 * output pair instead of the generic radix's 16.
 */
export function radix5(re: Float64Array, im: Float64Array, n: number, m: number, tw: Float64Array): void {
  for (let at = 0; at < n; at += 5 * m) {
    for (let u = 0; u < m; u++) {
      const i0 = at + u;
      const i1 = i0 + m;
      const i2 = i1 + m;
      const i3 = i2 + m;
      const i4 = i3 + m;
      const t = 8 * u;
      const x0r = re[i0]!, x0i = im[i0]!;
      let yr = re[i1]!, yi = im[i1]!;
      let wr = tw[t]!, wi = tw[t + 1]!;
      const x1r = yr * wr - yi * wi, x1i = yr * wi + yi * wr;
      yr = re[i2]!;
      yi = im[i2]!;
      wr = tw[t + 2]!;
      wi = tw[t + 3]!;
      const x2r = yr * wr - yi * wi, x2i = yr * wi + yi * wr;
      yr = re[i3]!;
      yi = im[i3]!;
      wr = tw[t + 4]!;
      wi = tw[t + 5]!;
      const x3r = yr * wr - yi * wi, x3i = yr * wi + yi * wr;
      yr = re[i4]!;
      yi = im[i4]!;
      wr = tw[t + 6]!;
      wi = tw[t + 7]!;
      const x4r = yr * wr - yi * wi, x4i = yr * wi + yi * wr;
      const t1r = x1r + x4r, t1i = x1i + x4i;
      const t2r = x2r + x3r, t2i = x2i + x3i;
      const t3r = x1r - x4r, t3i = x1i - x4i;
      const t4r = x2r - x3r, t4i = x2i - x3i;
      const a1r = x0r + C1 * t1r + C2 * t2r, a1i = x0i + C1 * t1i + C2 * t2i;
      const a2r = x0r + C2 * t1r + C1 * t2r, a2i = x0i + C2 * t1i + C1 * t2i;
      const b1r = S1 * t3r + S2 * t4r, b1i = S1 * t3i + S2 * t4i;
      const b2r = S2 * t3r - S1 * t4r, b2i = S2 * t3i - S1 * t4i;
      re[i0] = x0r + t1r + t2r;
      im[i0] = x0i + t1i + t2i;
      // X1 = a1 − i·b1, X4 = a1 + i·b1, X2 = a2 − i·b2, X3 = a2 + i·b2.
      re[i1] = a1r + b1i;
      im[i1] = a1i - b1r;
      re[i4] = a1r - b1i;
      im[i4] = a1i + b1r;
      re[i2] = a2r + b2i;
      im[i2] = a2i - b2r;
      re[i3] = a2r - b2i;
      im[i3] = a2i + b2r;
    }
  }
}

const R = Math.SQRT1_2;

/**
 * Radix-8 level: twiddles, then the 8-point DFT as two 4-point DFTs (even and odd inputs) joined by
 * w8^k = e^(−iπk/4): X[k] = E[k] + w8^k·O[k], X[k + 4] = E[k] − w8^k·O[k].
 */
export function radix8(re: Float64Array, im: Float64Array, n: number, m: number, tw: Float64Array): void {
  for (let at = 0; at < n; at += 8 * m) {
    for (let u = 0; u < m; u++) {
      const i0 = at + u;
      const t = 14 * u;
      const x0r = re[i0]!, x0i = im[i0]!;
      let yr = re[i0 + m]!, yi = im[i0 + m]!, wr = tw[t]!, wi = tw[t + 1]!;
      const x1r = yr * wr - yi * wi, x1i = yr * wi + yi * wr;
      yr = re[i0 + 2 * m]!;
      yi = im[i0 + 2 * m]!;
      wr = tw[t + 2]!;
      wi = tw[t + 3]!;
      const x2r = yr * wr - yi * wi, x2i = yr * wi + yi * wr;
      yr = re[i0 + 3 * m]!;
      yi = im[i0 + 3 * m]!;
      wr = tw[t + 4]!;
      wi = tw[t + 5]!;
      const x3r = yr * wr - yi * wi, x3i = yr * wi + yi * wr;
      yr = re[i0 + 4 * m]!;
      yi = im[i0 + 4 * m]!;
      wr = tw[t + 6]!;
      wi = tw[t + 7]!;
      const x4r = yr * wr - yi * wi, x4i = yr * wi + yi * wr;
      yr = re[i0 + 5 * m]!;
      yi = im[i0 + 5 * m]!;
      wr = tw[t + 8]!;
      wi = tw[t + 9]!;
      const x5r = yr * wr - yi * wi, x5i = yr * wi + yi * wr;
      yr = re[i0 + 6 * m]!;
      yi = im[i0 + 6 * m]!;
      wr = tw[t + 10]!;
      wi = tw[t + 11]!;
      const x6r = yr * wr - yi * wi, x6i = yr * wi + yi * wr;
      yr = re[i0 + 7 * m]!;
      yi = im[i0 + 7 * m]!;
      wr = tw[t + 12]!;
      wi = tw[t + 13]!;
      const x7r = yr * wr - yi * wi, x7i = yr * wi + yi * wr;
      // E = DFT4(x0, x2, x4, x6), O = DFT4(x1, x3, x5, x7) (forward: E1 = d − i·d', E3 = d + i·d').
      const a04r = x0r + x4r, a04i = x0i + x4i, b04r = x0r - x4r, b04i = x0i - x4i;
      const a26r = x2r + x6r, a26i = x2i + x6i, b26r = x2r - x6r, b26i = x2i - x6i;
      const e0r = a04r + a26r, e0i = a04i + a26i;
      const e2r = a04r - a26r, e2i = a04i - a26i;
      const e1r = b04r + b26i, e1i = b04i - b26r;
      const e3r = b04r - b26i, e3i = b04i + b26r;
      const a15r = x1r + x5r, a15i = x1i + x5i, b15r = x1r - x5r, b15i = x1i - x5i;
      const a37r = x3r + x7r, a37i = x3i + x7i, b37r = x3r - x7r, b37i = x3i - x7i;
      const o0r = a15r + a37r, o0i = a15i + a37i;
      const o2r = a15r - a37r, o2i = a15i - a37i;
      const o1r = b15r + b37i, o1i = b15i - b37r;
      const o3r = b15r - b37i, o3i = b15i + b37r;
      // w8·O1 = (1 − i)/√2·O1, w8²·O2 = −i·O2, w8³·O3 = −(1 + i)/√2·O3.
      const p1r = R * (o1r + o1i), p1i = R * (o1i - o1r);
      const p2r = o2i, p2i = -o2r;
      const p3r = R * (o3i - o3r), p3i = -R * (o3r + o3i);
      re[i0] = e0r + o0r;
      im[i0] = e0i + o0i;
      re[i0 + 4 * m] = e0r - o0r;
      im[i0 + 4 * m] = e0i - o0i;
      re[i0 + m] = e1r + p1r;
      im[i0 + m] = e1i + p1i;
      re[i0 + 5 * m] = e1r - p1r;
      im[i0 + 5 * m] = e1i - p1i;
      re[i0 + 2 * m] = e2r + p2r;
      im[i0 + 2 * m] = e2i + p2i;
      re[i0 + 6 * m] = e2r - p2r;
      im[i0 + 6 * m] = e2i - p2i;
      re[i0 + 3 * m] = e3r + p3r;
      im[i0 + 3 * m] = e3i + p3i;
      re[i0 + 7 * m] = e3r - p3r;
      im[i0 + 7 * m] = e3i - p3i;
    }
  }
}
