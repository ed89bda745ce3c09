/** Analysis windows, cached by (kind, length, n_fft): read-only once built. */
import { checkInt, DspOptionsError } from './errors.ts';

export type WindowKind = 'hann' | 'hamming' | 'rectangular';
export const WINDOW_KINDS: readonly WindowKind[] = ['hann', 'hamming', 'rectangular'];

const cache = new Map<string, Float64Array>();
const MAX_CACHED = 64;

/**
 * A periodic ("DFT-even") window of `winLength` samples zero-padded to `nFft`, centred, as librosa's
 * `filters.get_window(..., fftbins=True)` followed by `util.pad_center`. Cached; do not write to it.
 */
export function analysisWindow(kind: WindowKind, winLength: number, nFft = winLength): Float64Array {
  checkInt('win_length', winLength, 1, nFft);
  const key = `${kind}:${winLength}:${nFft}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const w = new Float64Array(nFft);
  const offset = Math.floor((nFft - winLength) / 2);
  // A one-sample window is 1 whatever its kind (scipy's length guard).
  for (let n = 0; n < winLength; n++) w[offset + n] = winLength === 1 ? 1 : windowValue(kind, n, winLength);
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
  cache.set(key, w);
  return w;
}

function windowValue(kind: WindowKind, n: number, length: number): number {
  switch (kind) {
    case 'hann':
      return 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / length);
    case 'hamming':
      return 0.54 - 0.46 * Math.cos((2 * Math.PI * n) / length);
    case 'rectangular':
      return 1;
    default:
      throw new DspOptionsError('window', `unknown window "${String(kind)}" (known: ${WINDOW_KINDS.join(', ')})`);
  }
}
