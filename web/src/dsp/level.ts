/** Level and speaking detection over time-domain samples (float, −1..1). Pure; no allocation per call. */

/** The quietest level reported; digital silence reads as this instead of −∞. */
export const LEVEL_FLOOR_DB = -100;

/** RMS of the first `length` samples in dBFS (a full-scale sine reads −3.01), floored at {@link LEVEL_FLOOR_DB}. */
export function rmsDbfs(samples: ArrayLike<number>, length: number = samples.length): number {
  const n = Math.min(length, samples.length);
  if (n <= 0) return LEVEL_FLOOR_DB;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = samples[i]!;
    if (Number.isFinite(v)) sum += v * v;
  }
  const rms = Math.sqrt(sum / n);
  if (rms <= 0) return LEVEL_FLOOR_DB;
  return Math.max(LEVEL_FLOOR_DB, 20 * Math.log10(rms));
}

export interface SpeakingOptions {
  /** Level (dBFS) at or above which a speaker counts as speaking. */
  thresholdDb: number;
  /** How long speaking stays on after the level drops below the threshold, in ms. */
  hangoverMs: number;
}

export const defaultSpeakingOptions: SpeakingOptions = {
  thresholdDb: -50,
  hangoverMs: 400,
};

/** On as soon as a level crosses the threshold; off only after `hangoverMs` below it. */
export class SpeakingDetector {
  readonly options: SpeakingOptions;
  #speaking = false;
  #lastLoudMs = Number.NEGATIVE_INFINITY;

  constructor(options: Partial<SpeakingOptions> = {}) {
    this.options = { ...defaultSpeakingOptions, ...options };
  }

  get speaking(): boolean {
    return this.#speaking;
  }

  /** Feeds one level measured at `nowMs`; returns whether the speaker is speaking now. */
  update(levelDb: number, nowMs: number): boolean {
    if (levelDb >= this.options.thresholdDb) {
      this.#lastLoudMs = nowMs;
      this.#speaking = true;
    } else if (this.#speaking && nowMs - this.#lastLoudMs > this.options.hangoverMs) {
      this.#speaking = false;
    }
    return this.#speaking;
  }

  reset(): void {
    this.#speaking = false;
    this.#lastLoudMs = Number.NEGATIVE_INFINITY;
  }
}
