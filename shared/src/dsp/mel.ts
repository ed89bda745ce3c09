/**
 * Mel scales and triangular mel filterbanks with librosa 0.11's `filters.mel` semantics (Slaney or
 * HTK scale; Slaney area normalisation or none; float32 weights). Filterbanks are cached by their
 * parameters and stored sparsely (each filter's first bin and weights), since a triangle covers only
 * a few bins and a dense matrix product would spend most of its time on zeros.
 */
import { checkInt, checkNumber, DspOptionsError } from './errors.ts';

export type MelNorm = 'slaney' | 'none';

export interface MelFilterbankOptions {
  /** Sample rate of the signal, Hz. */
  sampleRate: number;
  /** FFT length; the bank covers its 1 + n_fft/2 bins. */
  nFft: number;
  /** Number of mel bands. librosa's default: 128. */
  nMels: number;
  /** Lowest edge, Hz. Default 0. */
  fmin: number;
  /** Highest edge, Hz; null = sampleRate / 2. */
  fmax: number | null;
  /** HTK mel scale (2595·log10(1 + f/700)) instead of Slaney's. Default false. */
  htk: boolean;
  /** 'slaney' divides each triangle by its width in Hz (constant energy per band); 'none' keeps peak 1. */
  norm: MelNorm;
}

export const defaultMelFilterbankOptions: Omit<MelFilterbankOptions, 'sampleRate' | 'nFft'> = {
  nMels: 128,
  fmin: 0,
  fmax: null,
  htk: false,
  norm: 'slaney',
};

/** A sparse mel filterbank: band m covers bins start[m] … start[m] + length[m] − 1. */
export interface MelFilterbank {
  readonly nMels: number;
  readonly nBins: number;
  readonly start: Int32Array;
  readonly length: Int32Array;
  /** Concatenated weights; band m's begin at offset[m]. */
  readonly offset: Int32Array;
  readonly weights: Float32Array;
  /** Band edges in Hz (n_mels + 2 values): lower edge, centre …, upper edge. */
  readonly edgesHz: Float64Array;
}

const F_SP = 200 / 3;
const MIN_LOG_HZ = 1000;
const MIN_LOG_MEL = MIN_LOG_HZ / F_SP;
const LOG_STEP = Math.log(6.4) / 27;

/** Hz → mel (librosa `hz_to_mel`). */
export function hzToMel(hz: number, htk = false): number {
  if (htk) return 2595 * Math.log10(1 + hz / 700);
  return hz >= MIN_LOG_HZ ? MIN_LOG_MEL + Math.log(hz / MIN_LOG_HZ) / LOG_STEP : hz / F_SP;
}

/** mel → Hz (librosa `mel_to_hz`). */
export function melToHz(mel: number, htk = false): number {
  if (htk) return 700 * (10 ** (mel / 2595) - 1);
  return mel >= MIN_LOG_MEL ? MIN_LOG_HZ * Math.exp(LOG_STEP * (mel - MIN_LOG_MEL)) : F_SP * mel;
}

/** `n` frequencies evenly spaced on the mel scale from fmin to fmax inclusive (librosa `mel_frequencies`). */
export function melFrequencies(n: number, fmin: number, fmax: number, htk = false): Float64Array {
  const lo = hzToMel(fmin, htk);
  const hi = hzToMel(fmax, htk);
  const out = new Float64Array(n);
  // numpy.linspace: start + i·step, the last value exactly `stop`.
  const step = n > 1 ? (hi - lo) / (n - 1) : 0;
  for (let i = 0; i < n; i++) out[i] = melToHz(i === n - 1 && n > 1 ? hi : lo + i * step, htk);
  return out;
}

const cache = new Map<string, MelFilterbank>();
const MAX_CACHED = 32;

/** The mel filterbank for these options, cached by all of them. Do not write to the result. */
export function melFilterbank(options: Pick<MelFilterbankOptions, 'sampleRate' | 'nFft'> & Partial<MelFilterbankOptions>): MelFilterbank {
  const o: MelFilterbankOptions = { ...defaultMelFilterbankOptions, ...options };
  checkNumber('sample_rate', o.sampleRate, 1, 1e7);
  checkInt('n_fft', o.nFft, 2, 1 << 20);
  checkInt('n_mels', o.nMels, 1, 4096);
  const fmax = o.fmax ?? o.sampleRate / 2;
  checkNumber('fmin', o.fmin, 0, o.sampleRate / 2);
  checkNumber('fmax', fmax, 0, o.sampleRate / 2);
  if (fmax <= o.fmin) throw new DspOptionsError('fmax', `must be above fmin (${o.fmin} Hz), got ${fmax}`);
  if (o.norm !== 'slaney' && o.norm !== 'none') throw new DspOptionsError('norm', `must be slaney or none, got "${String(o.norm)}"`);
  const key = `${o.sampleRate}:${o.nFft}:${o.nMels}:${o.fmin}:${fmax}:${o.htk}:${o.norm}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const bank = buildFilterbank(o, fmax);
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
  cache.set(key, bank);
  return bank;
}

function buildFilterbank(o: MelFilterbankOptions, fmax: number): MelFilterbank {
  const nBins = 1 + Math.floor(o.nFft / 2);
  // numpy.fft.rfftfreq(n, d=1/sr): k · (1 / (n · d)).
  const binHz = 1 / (o.nFft * (1 / o.sampleRate));
  const edges = melFrequencies(o.nMels + 2, o.fmin, fmax, o.htk);
  const start = new Int32Array(o.nMels);
  const length = new Int32Array(o.nMels);
  const offset = new Int32Array(o.nMels);
  const rows: number[][] = [];
  let total = 0;
  for (let m = 0; m < o.nMels; m++) {
    const lowerWidth = edges[m + 1]! - edges[m]!;
    const upperWidth = edges[m + 2]! - edges[m + 1]!;
    const enorm = o.norm === 'slaney' ? 2 / (edges[m + 2]! - edges[m]!) : 1;
    const row: number[] = [];
    let first = -1;
    for (let k = 0; k < nBins; k++) {
      const f = k * binHz;
      const lower = -(edges[m]! - f) / lowerWidth;
      const upper = (edges[m + 2]! - f) / upperWidth;
      // librosa stores the triangle into a float32 array, then scales it in place (float64 product,
      // rounded back to float32): round twice to match its weights bit for bit.
      const w = Math.fround(Math.max(0, Math.min(lower, upper)));
      const v = o.norm === 'slaney' ? Math.fround(w * enorm) : w;
      if (v !== 0) {
        if (first < 0) first = k;
        // Keep interior zeros (none occur in a triangle, but stay exact if they did).
        while (first + row.length < k) row.push(0);
        row.push(v);
      }
    }
    start[m] = first < 0 ? 0 : first;
    length[m] = row.length;
    offset[m] = total;
    total += row.length;
    rows.push(row);
  }
  const weights = new Float32Array(total);
  for (let m = 0; m < o.nMels; m++) weights.set(rows[m]!, offset[m]!);
  return { nMels: o.nMels, nBins, start, length, offset, weights, edgesHz: edges };
}

/** Applies `bank` to one power spectrum (nBins values) into out[outAt … outAt + nMels). */
export function applyMel(bank: MelFilterbank, spectrum: Float64Array, out: Float32Array | Float64Array, outAt = 0): void {
  const { start, length, offset, weights } = bank;
  for (let m = 0; m < bank.nMels; m++) {
    let acc = 0;
    const s = start[m]!;
    const o = offset[m]!;
    const n = length[m]!;
    for (let i = 0; i < n; i++) acc += weights[o + i]! * spectrum[s + i]!;
    out[outAt + m] = acc;
  }
}
