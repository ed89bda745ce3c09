/**
 * Mel spectrograms: librosa 0.11 `feature.melspectrogram` (offline), OpenAI Whisper's
 * `log_mel_spectrogram` (offline, no padding), and a streaming {@link MelProcessor} for live views.
 */
import { checkNumber } from './errors.ts';
import { applyMel, defaultMelFilterbankOptions, melFilterbank, type MelFilterbank, type MelNorm } from './mel.ts';
import { defaultStftOptions, framesOrThrow, resolveStftOptions, SpectrumFrame, type ResolvedStftOptions, type StftOptions } from './stft.ts';

export interface MelSpectrogramOptions extends StftOptions {
  /** Sample rate, Hz. librosa's default: 22050. */
  sampleRate: number;
  nMels: number;
  fmin: number;
  /** null = sampleRate / 2. */
  fmax: number | null;
  htk: boolean;
  norm: MelNorm;
}

/** librosa 0.11 `feature.melspectrogram`'s defaults. */
export const defaultMelSpectrogramOptions: MelSpectrogramOptions = {
  ...defaultStftOptions,
  ...defaultMelFilterbankOptions,
  sampleRate: 22050,
};

/** Mel frames, frame-major: data[t · nMels + m] (each frame contiguous, ready to stream or draw). */
export interface MelSpectrogram {
  sampleRate: number;
  nMels: number;
  nFrames: number;
  data: Float32Array;
}

function bankFor(o: MelSpectrogramOptions): MelFilterbank {
  return melFilterbank({ sampleRate: o.sampleRate, nFft: o.nFft, nMels: o.nMels, fmin: o.fmin, fmax: o.fmax, htk: o.htk, norm: o.norm });
}

/** Called every 1024 frames by the offline functions: frames done so far, of `total`. */
export type DspProgress = (done: number, total: number) => void;

/**
 * `librosa.feature.melspectrogram(y=signal, sr, …)` with the same defaults; linear (not dB) values.
 * `onProgress`, when given, hears about long runs.
 */
export function melSpectrogram(signal: ArrayLike<number>, options: Partial<MelSpectrogramOptions> = {}, onProgress?: DspProgress): MelSpectrogram {
  const o = { ...defaultMelSpectrogramOptions, ...options };
  const stft = resolveStftOptions(o);
  const bank = bankFor(o);
  const nFrames = framesOrThrow(signal.length, stft);
  const frame = new SpectrumFrame(stft);
  const data = new Float32Array(nFrames * o.nMels);
  const offset = stft.center ? -Math.floor(stft.nFft / 2) : 0;
  for (let t = 0; t < nFrames; t++) {
    applyMel(bank, frame.compute(signal, offset + t * stft.hopLength), data, t * o.nMels);
    if (onProgress && t % 1024 === 1023) onProgress(t + 1, nFrames);
  }
  onProgress?.(nFrames, nFrames);
  return { sampleRate: o.sampleRate, nMels: o.nMels, nFrames, data };
}

/** Whisper's fixed front end: 16 kHz, n_fft 400, hop 160, 80 Slaney mels 0–8 kHz, reflect padding. */
export const WHISPER_SAMPLE_RATE = 16000;
export const whisperMelOptions: MelSpectrogramOptions = {
  ...defaultMelSpectrogramOptions,
  sampleRate: WHISPER_SAMPLE_RATE,
  nFft: 400,
  hopLength: 160,
  winLength: 400,
  nMels: 80,
  padMode: 'reflect',
};

/**
 * OpenAI Whisper's `log_mel_spectrogram(audio)` on 16 kHz audio, without its 30 s padding: power mel
 * spectrogram, last STFT frame dropped, log10(max(x, 1e-10)), floored at (max − 8), then (x + 4) / 4.
 */
export function whisperLogMel(signal16k: ArrayLike<number>, nMels = 80, onProgress?: DspProgress): MelSpectrogram {
  const mel = melSpectrogram(signal16k, { ...whisperMelOptions, nMels }, onProgress);
  const nFrames = Math.max(0, mel.nFrames - 1);
  const data = mel.data.subarray(0, nFrames * nMels);
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = Math.log10(Math.max(data[i]!, 1e-10));
    data[i] = v;
    if (v > max) max = v;
  }
  const floor = max - 8;
  for (let i = 0; i < data.length; i++) data[i] = (Math.max(data[i]!, floor) + 4) / 4;
  return { sampleRate: WHISPER_SAMPLE_RATE, nMels, nFrames, data };
}

/** Rows of a mel spectrogram as the CLI's JSON writes them: n_mels arrays of n_frames numbers. */
export function melRows(spec: MelSpectrogram): number[][] {
  const rows: number[][] = [];
  for (let m = 0; m < spec.nMels; m++) {
    const row = new Array<number>(spec.nFrames);
    for (let t = 0; t < spec.nFrames; t++) row[t] = spec.data[t * spec.nMels + m]!;
    rows.push(row);
  }
  return rows;
}

/** Frames produced by one {@link MelProcessor.processInput} call; `data` is reused by the next call. */
export interface MelFrames {
  /** Number of new frames. */
  count: number;
  /** count × nMels values, frame-major. A view into the processor's buffer: copy to keep it. */
  data: Float32Array;
  /** Index (from 0 at the first sample fed) of the first sample of the first new frame. */
  firstSample: number;
}

/**
 * Live mel spectrogram: feed chunks of any size, get every frame whose n_fft samples have arrived
 * (uncentred framing: frame t covers samples t·hop … t·hop + n_fft). Buffers are allocated once, for
 * chunks up to `maxChunk` samples (larger chunks grow them once).
 */
export class MelProcessor {
  readonly options: MelSpectrogramOptions & ResolvedStftOptions;
  readonly bank: MelFilterbank;
  readonly #frame: SpectrumFrame;
  /**
   * Recent samples, linear (not a ring, so each frame is one contiguous view the FFT reads in place):
   * #buf[0 … #len) holds samples #bufStart … #bufStart + #len. Once a chunk's frames are out, samples
   * before the next frame's start are dropped with one copyWithin.
   */
  readonly #buf: Float64Array;
  #len = 0;
  #bufStart = 0;
  /** First sample of the next frame to emit. */
  #nextStart = 0;
  #total = 0;
  #out: Float32Array;

  constructor(options: Partial<MelSpectrogramOptions> = {}, maxChunk = 4096) {
    const o = { ...defaultMelSpectrogramOptions, ...options, center: false };
    checkNumber('max_chunk', maxChunk, 1, 1 << 24);
    this.options = { ...o, ...resolveStftOptions(o) };
    this.bank = bankFor(this.options);
    this.#frame = new SpectrumFrame(this.options);
    this.#buf = new Float64Array(this.options.nFft + Math.max(this.options.hopLength, 4096));
    this.#out = new Float32Array((Math.ceil(maxChunk / this.options.hopLength) + 1) * this.options.nMels);
  }

  processInput(chunk: ArrayLike<number>): MelFrames {
    const { nFft, hopLength, nMels } = this.options;
    const maxFrames = Math.ceil(chunk.length / hopLength) + 1;
    if (this.#out.length < maxFrames * nMels) this.#out = new Float32Array(maxFrames * nMels);
    const buf = this.#buf;
    let count = 0;
    let firstSample = -1;
    let i = 0;
    while (i < chunk.length) {
      // Samples before the next frame's start (hop > n_fft) are never read: skip them.
      if (this.#len === 0 && this.#bufStart < this.#nextStart) {
        const skip = Math.min(chunk.length - i, this.#nextStart - this.#bufStart);
        i += skip;
        this.#bufStart += skip;
        this.#total += skip;
        continue;
      }
      const take = Math.min(chunk.length - i, buf.length - this.#len);
      for (let k = 0; k < take; k++) buf[this.#len + k] = chunk[i + k]!;
      this.#len += take;
      this.#total += take;
      i += take;
      while (this.#nextStart + nFft <= this.#bufStart + this.#len) {
        applyMel(this.bank, this.#frame.compute(buf, this.#nextStart - this.#bufStart, this.#len), this.#out, count * nMels);
        if (firstSample < 0) firstSample = this.#nextStart;
        count++;
        this.#nextStart += hopLength;
      }
      const drop = Math.min(this.#len, this.#nextStart - this.#bufStart);
      if (drop > 0) {
        buf.copyWithin(0, drop, this.#len);
        this.#len -= drop;
        this.#bufStart += drop;
      }
    }
    return { count, data: this.#out.subarray(0, count * nMels), firstSample: firstSample < 0 ? this.#total : firstSample };
  }

  /** Forget all samples (a new stream). */
  reset(): void {
    this.#len = 0;
    this.#bufStart = 0;
    this.#nextStart = 0;
    this.#total = 0;
  }
}
