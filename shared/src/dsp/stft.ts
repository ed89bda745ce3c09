/**
 * Short-time Fourier transform framing with librosa 0.11 `stft` semantics: `center` pads n_fft/2
 * samples on each side (`pad_mode` 'constant' — zeros, librosa 0.11's default — or 'reflect'), frames
 * start every `hop_length` samples, each frame is multiplied by a periodic window of `win_length`
 * zero-padded to `n_fft`, and the magnitude is raised to `power`.
 */
import { PrometheanError } from '../errors.ts';
import { checkInt, checkNumber, DspOptionsError } from './errors.ts';
import { RealFft } from './fft.ts';
import { analysisWindow, type WindowKind } from './window.ts';

export type PadMode = 'constant' | 'reflect';

export interface StftOptions {
  /** FFT length. librosa's default: 2048. */
  nFft: number;
  /** Samples between frame starts; null = winLength / 4 (librosa). */
  hopLength: number | null;
  /** Window length (≤ n_fft, zero-padded to it, centred); null = n_fft. */
  winLength: number | null;
  window: WindowKind;
  /** Pad n_fft/2 on both sides so frame t is centred on sample t·hop. Default true. */
  center: boolean;
  /** How `center` pads: zeros ('constant', librosa 0.11's default) or mirror ('reflect', torch's). */
  padMode: PadMode;
  /** Exponent of the magnitude: 2 = power, 1 = magnitude. */
  power: number;
}

export const defaultStftOptions: StftOptions = {
  nFft: 2048,
  hopLength: null,
  winLength: null,
  window: 'hann',
  center: true,
  padMode: 'constant',
  power: 2,
};

/** Options with every default resolved and every value checked. */
export interface ResolvedStftOptions extends StftOptions {
  hopLength: number;
  winLength: number;
}

export function resolveStftOptions(options: Partial<StftOptions> = {}): ResolvedStftOptions {
  const o = { ...defaultStftOptions, ...options };
  checkInt('n_fft', o.nFft, 2, 1 << 20);
  const winLength = checkInt('win_length', o.winLength ?? o.nFft, 1, o.nFft);
  const hopLength = checkInt('hop_length', o.hopLength ?? Math.floor(winLength / 4), 1, 1 << 24);
  checkNumber('power', o.power, Number.MIN_VALUE, 16);
  if (o.padMode !== 'constant' && o.padMode !== 'reflect') throw new DspOptionsError('pad_mode', `must be constant or reflect, got "${String(o.padMode)}"`);
  return { ...o, winLength, hopLength };
}

/** Number of STFT frames for a signal of `nSamples` (librosa's count; 0 when uncentred and too short). */
export function stftFrameCount(nSamples: number, o: ResolvedStftOptions): number {
  const padded = o.center ? nSamples + 2 * Math.floor(o.nFft / 2) : nSamples;
  return padded < o.nFft ? 0 : 1 + Math.floor((padded - o.nFft) / o.hopLength);
}

/** numpy's 'reflect' index (mirror without repeating the edge; periodic for pads longer than the signal). */
function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = i % period;
  if (j < 0) j += period;
  return j < n ? j : period - j;
}

/**
 * Computes one windowed frame's spectrum at a time, reusing its buffers: the per-frame core shared by
 * the offline spectrogram functions and the streaming processors.
 */
export class SpectrumFrame {
  readonly options: ResolvedStftOptions;
  readonly bins: number;
  /** |X[k]|^power of the last frame computed. */
  readonly spectrum: Float64Array;
  readonly #fft: RealFft;
  readonly #window: Float64Array;
  readonly #frame: Float64Array;
  readonly #re: Float64Array;
  readonly #im: Float64Array;

  constructor(options: ResolvedStftOptions) {
    this.options = options;
    this.#fft = new RealFft(options.nFft);
    this.bins = this.#fft.bins;
    this.#window = analysisWindow(options.window, options.winLength, options.nFft);
    this.#frame = new Float64Array(options.nFft);
    this.#re = new Float64Array(this.bins);
    this.#im = new Float64Array(this.bins);
    this.spectrum = new Float64Array(this.bins);
  }

  /** Spectrum of source[at … at + n_fft) (indices outside [0, length) read through `padMode`). */
  compute(source: ArrayLike<number>, at: number, length = source.length): Float64Array {
    const n = this.options.nFft;
    const w = this.#window;
    const p = this.options.power;
    if (at >= 0 && at + n <= length) {
      // The common case: window while gathering into the FFT's butterfly order, power inside its
      // split (one pass in, one pass out, no copy).
      this.#fft.powerWindowed(source, at, w, this.spectrum, p);
      return this.spectrum;
    }
    const frame = this.#frame;
    const reflect = this.options.padMode === 'reflect';
    for (let i = 0; i < n; i++) {
      const j = at + i;
      const inside = j >= 0 && j < length;
      frame[i] = inside ? source[j]! * w[i]! : reflect && length > 0 ? source[reflectIndex(j, length)]! * w[i]! : 0;
    }
    this.#fft.forward(frame, this.#re, this.#im);
    const re = this.#re, im = this.#im, s = this.spectrum, bins = this.bins;
    for (let k = 0; k < bins; k++) {
      const pw = re[k]! * re[k]! + im[k]! * im[k]!;
      s[k] = p === 2 ? pw : p === 1 ? Math.sqrt(pw) : Math.pow(pw, p / 2);
    }
    return s;
  }
}

/** A linear-frequency spectrogram, frame-major: data[t · nBins + k]. */
export interface Spectrogram {
  nFrames: number;
  nBins: number;
  data: Float32Array;
}

/**
 * |STFT|^power of a whole signal (librosa `stft` then `abs() ** power`). Throws PrometheanError
 * `unsupported` when an uncentred signal is shorter than n_fft (librosa raises too).
 */
export function spectrogram(signal: ArrayLike<number>, options: Partial<StftOptions> = {}): Spectrogram {
  const o = resolveStftOptions(options);
  const nFrames = framesOrThrow(signal.length, o);
  const frame = new SpectrumFrame(o);
  const data = new Float32Array(nFrames * frame.bins);
  const offset = o.center ? -Math.floor(o.nFft / 2) : 0;
  for (let t = 0; t < nFrames; t++) data.set(frame.compute(signal, offset + t * o.hopLength), t * frame.bins);
  return { nFrames, nBins: frame.bins, data };
}

export function framesOrThrow(nSamples: number, o: ResolvedStftOptions): number {
  const n = stftFrameCount(nSamples, o);
  if (n === 0) throw new PrometheanError('unsupported', `a signal of ${nSamples} samples is shorter than n_fft ${o.nFft} (use center, or a smaller n_fft)`);
  return n;
}
