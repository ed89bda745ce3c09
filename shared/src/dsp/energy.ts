/** Energy, level and signal-to-noise kernels over PCM in [-1, 1]. */

/** Root mean square of samples [start, end). 0 for an empty range. */
export function rms(samples: ArrayLike<number>, start = 0, end = samples.length): number {
  const n = end - start;
  if (n <= 0) return 0;
  let acc = 0;
  for (let i = start; i < end; i++) acc += samples[i]! * samples[i]!;
  return Math.sqrt(acc / n);
}

/** Level in dB relative to full scale (a full-scale square wave is 0 dBFS); −Infinity for silence. */
export function dbfs(rmsValue: number): number {
  return 20 * Math.log10(rmsValue);
}

/** 10·log10(signal power / noise power) from two RMS values; +Infinity over a zero noise floor. */
export function snrDb(signalRms: number, noiseRms: number): number {
  if (noiseRms <= 0) return signalRms > 0 ? Number.POSITIVE_INFINITY : 0;
  return 20 * Math.log10(signalRms / noiseRms);
}

/** Converts signed 16-bit little-endian PCM to floats in [-1, 1) (÷ 32768). */
export function s16ToFloat(pcm: Int16Array, out: Float32Array = new Float32Array(pcm.length)): Float32Array {
  for (let i = 0; i < pcm.length; i++) out[i] = pcm[i]! / 32768;
  return out;
}

export interface NoiseFloorOptions {
  /** Time constant of the noise-power average, in frames. Default 50 (1.6 s of 32 ms frames). */
  frames: number;
  /** Noise RMS assumed before any non-speech frame was seen. Default 1e-4 (−80 dBFS). */
  initialRms: number;
}

export const defaultNoiseFloorOptions: NoiseFloorOptions = { frames: 50, initialRms: 1e-4 };

/**
 * Running noise-floor estimate: an exponential average of the power of frames a VAD called non-speech.
 * Speech frames leave it untouched, so a segment's SNR compares it with the floor just before it.
 */
export class NoiseFloor {
  readonly options: NoiseFloorOptions;
  #power: number;
  #seen = 0;

  constructor(options: Partial<NoiseFloorOptions> = {}) {
    this.options = { ...defaultNoiseFloorOptions, ...options };
    this.#power = this.options.initialRms ** 2;
  }

  /** Feeds one non-speech frame's RMS. */
  update(frameRms: number): void {
    if (!Number.isFinite(frameRms)) return;
    this.#seen++;
    // A plain mean over the first frames, then an exponential average.
    const alpha = 1 / Math.min(this.#seen, this.options.frames);
    this.#power += alpha * (frameRms * frameRms - this.#power);
  }

  get rms(): number {
    return Math.sqrt(this.#power);
  }
}
