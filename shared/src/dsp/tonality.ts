/**
 * Tonality of a frame: the share of its spectral power within ±2 bins of the strongest bin. A steady
 * pure tone (a dial tone, a test tone, an alarm) scores near 1 even in noise; voiced speech spreads its
 * power over several harmonics and formants and stays well below. Silero scores some pure tones in the
 * voice band as speech, so the VAD post-processing treats frames as silence once they are strongly tonal
 * at one steady frequency for a few frames in a row (band-limited recordings of voiced speech can be
 * strongly tonal too, but their pitch moves).
 */
import { RealFft } from './fft.ts';
import { analysisWindow } from './window.ts';

/** Measures {@link tonality} of fixed-size frames, reusing its FFT and buffers. */
export class TonalityMeter {
  readonly size: number;
  readonly #fft: RealFft;
  readonly #window: Float64Array;
  readonly #frame: Float64Array;
  readonly #re: Float64Array;
  readonly #im: Float64Array;
  readonly #power: Float64Array;
  #peakHz = 0;

  readonly sampleRate: number;

  constructor(size: number, sampleRate = 16000) {
    this.#fft = new RealFft(size);
    this.size = size;
    this.sampleRate = sampleRate;
    this.#window = analysisWindow('hann', size);
    this.#frame = new Float64Array(size);
    this.#re = new Float64Array(this.#fft.bins);
    this.#im = new Float64Array(this.#fft.bins);
    this.#power = new Float64Array(this.#fft.bins);
  }

  /** Interpolated frequency of the last measured frame's strongest bin, Hz (0 for silence). */
  get peakHz(): number {
    return this.#peakHz;
  }

  /** Share (0…1) of the power of samples[at … at + size) within ±2 bins of the peak; 0 for silence. */
  measure(samples: ArrayLike<number>, at = 0): number {
    for (let i = 0; i < this.size; i++) this.#frame[i] = (samples[at + i] ?? 0) * this.#window[i]!;
    this.#fft.forward(this.#frame, this.#re, this.#im);
    let total = 0;
    let peak = 1;
    const p = this.#power;
    for (let k = 0; k < p.length; k++) {
      p[k] = this.#re[k]! * this.#re[k]! + this.#im[k]! * this.#im[k]!;
      total += p[k]!;
      if (k > 0 && p[k]! > p[peak]!) peak = k;
    }
    if (total <= 0) {
      this.#peakHz = 0;
      return 0;
    }
    // Parabolic interpolation of the log power around the peak: the tone's frequency within ~1 Hz.
    const a = Math.log(p[peak - 1]! + 1e-30);
    const b = Math.log(p[peak]! + 1e-30);
    const c = peak + 1 < p.length ? Math.log(p[peak + 1]! + 1e-30) : a;
    const denom = a - 2 * b + c;
    const shift = denom === 0 ? 0 : (0.5 * (a - c)) / denom;
    this.#peakHz = ((peak + shift) * this.sampleRate) / this.size;
    let near = 0;
    for (let k = Math.max(0, peak - 2); k <= Math.min(p.length - 1, peak + 2); k++) near += p[k]!;
    return near / total;
  }
}
