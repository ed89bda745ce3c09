/** Reading an AnalyserNode-style spectrum (dB per bin, `fftSize / 2` bins). Pure. */

/** The bin nearest to `hz`. */
export function binOf(hz: number, sampleRate: number, fftSize: number): number {
  return Math.round((hz * fftSize) / sampleRate);
}

/**
 * The magnitude (dB) at `hz`: the largest of the nearest bin and its two neighbours, so a tone
 * between two bins (and the window's spread) still reads at its level. −∞ when `hz` is outside
 * 0..Nyquist or the spectrum is empty.
 */
export function magnitudeAt(spectrumDb: ArrayLike<number>, sampleRate: number, fftSize: number, hz: number): number {
  if (!(hz >= 0) || hz > sampleRate / 2 || spectrumDb.length === 0) return Number.NEGATIVE_INFINITY;
  const bin = Math.min(spectrumDb.length - 1, binOf(hz, sampleRate, fftSize));
  let best = Number.NEGATIVE_INFINITY;
  for (let b = Math.max(0, bin - 1); b <= Math.min(spectrumDb.length - 1, bin + 1); b++) {
    const v = spectrumDb[b]!;
    if (v > best) best = v;
  }
  return best;
}
