/**
 * Normalized cross-correlation after alignment, for comparing what a client decoded with the source.
 * Coarse lag search on 8 kHz averages, then a fine search at full rate around the best coarse lag.
 */

/** NCC of `a[i + lag]` against `b[i]` over their overlap. */
export function nccAtLag(a: Float32Array, b: Float32Array, lag: number): number {
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  const start = Math.max(0, -lag);
  const end = Math.min(b.length, a.length - lag);
  for (let i = start; i < end; i++) {
    const x = a[i + lag] as number;
    const y = b[i] as number;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

function decimate(x: Float32Array, factor: number): Float32Array {
  const out = new Float32Array(Math.floor(x.length / factor));
  for (let i = 0; i < out.length; i++) {
    let s = 0;
    for (let k = 0; k < factor; k++) s += x[i * factor + k] as number;
    out[i] = s / factor;
  }
  return out;
}

/** Best NCC of `received` against `source` for lags in [minLag, maxLag] samples (received later = positive). */
export function alignedNcc(received: Float32Array, source: Float32Array, minLag: number, maxLag: number): { ncc: number; lag: number } {
  const f = 6;
  const rc = decimate(received, f);
  const sc = decimate(source, f);
  let best = { ncc: -Infinity, lag: 0 };
  for (let l = Math.floor(minLag / f); l <= Math.ceil(maxLag / f); l++) {
    const v = nccAtLag(rc, sc, l);
    if (v > best.ncc) best = { ncc: v, lag: l * f };
  }
  let fine = { ncc: -Infinity, lag: best.lag };
  for (let l = best.lag - 2 * f; l <= best.lag + 2 * f; l++) {
    const v = nccAtLag(received, source, l);
    if (v > fine.ncc) fine = { ncc: v, lag: l };
  }
  return fine;
}

/** Mono float from interleaved s16le stereo. */
export function monoFromS16Stereo(buf: Buffer): Float32Array {
  const n = Math.floor(buf.length / 4);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (buf.readInt16LE(i * 4) + buf.readInt16LE(i * 4 + 2)) / 65536;
  return out;
}
