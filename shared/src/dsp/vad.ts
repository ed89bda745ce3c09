/**
 * Voice-activity post-processing: turns per-frame speech probabilities (Silero, or any model) into
 * speech segments with hysteresis, a minimum speech length, pre/post padding and a hang-over
 * ("redemption") of silence before speech ends — the rules of Silero's `get_speech_timestamps`,
 * runnable frame by frame so the browser worklet, the server worker and the CLI agree exactly.
 */
import { checkInt, checkNumber, DspOptionsError } from './errors.ts';
import { NoiseFloor, snrDb } from './energy.ts';

export interface VadSettings {
  /** A frame at or above this probability starts speech, and resets the hang-over. */
  positiveThreshold: number;
  /** Below this a frame counts as silence (between the two thresholds speech simply continues). */
  negativeThreshold: number;
  /** Shorter speech is a misfire: dropped, and it consumes no segment id. */
  minSpeechMs: number;
  /** Audio kept before the first speech frame (never reaching back into the previous segment). */
  prePadMs: number;
  /** Audio kept after the last speech frame. */
  postPadMs: number;
  /** Hang-over: silence that must last this long before speech ends (a segment's `silence_ms`). */
  redemptionMs: number;
  /** Longer speech is cut into segments of at most this length (speech-to-text wants bounded input). */
  maxSegmentMs: number;
  /**
   * A steady tone — {@link STEADY_TONE_FRAMES} frames in a row at least this tonal (see
   * `TonalityMeter`) with their peak within {@link STEADY_TONE_HZ} of the previous frame's — is
   * silence whatever the model says, and unconfirmed speech that began with it is dropped. 1 = off.
   */
  maxTonality: number;
}

/**
 * Defaults chosen on the labelled test (JFK phrases in noise at 10 dB SNR, five noise seeds and tone
 * pitches; see server/src/dsp/silero.test.ts and docs/dsp.md): the thresholds are @ricky0123/vad-web's
 * for Silero v5; the hang-over bridges the dips between words; the post-pad covers trailing consonants.
 */
export const defaultVadSettings: VadSettings = {
  positiveThreshold: 0.3,
  negativeThreshold: 0.25,
  minSpeechMs: 160,
  prePadMs: 32,
  postPadMs: 96,
  redemptionMs: 320,
  maxSegmentMs: 30_000,
  maxTonality: 0.8,
};

/** Frames in a row that make a steady tone (128 ms of 32 ms frames; speech's pitch moves sooner). */
export const STEADY_TONE_FRAMES = 4;
/** Largest frame-to-frame move of a steady tone's peak, Hz. */
export const STEADY_TONE_HZ = 4;

/** Checks a settings object (whole or partial), throwing {@link DspOptionsError} naming the field. */
export function checkVadSettings(s: Partial<VadSettings>): void {
  if (s.positiveThreshold !== undefined) checkNumber('positiveThreshold', s.positiveThreshold, 0, 1);
  if (s.negativeThreshold !== undefined) checkNumber('negativeThreshold', s.negativeThreshold, 0, 1);
  if (s.minSpeechMs !== undefined) checkNumber('minSpeechMs', s.minSpeechMs, 0, 60_000);
  if (s.prePadMs !== undefined) checkNumber('prePadMs', s.prePadMs, 0, 10_000);
  if (s.postPadMs !== undefined) checkNumber('postPadMs', s.postPadMs, 0, 10_000);
  if (s.redemptionMs !== undefined) checkNumber('redemptionMs', s.redemptionMs, 0, 60_000);
  if (s.maxSegmentMs !== undefined) checkNumber('maxSegmentMs', s.maxSegmentMs, 100, 3_600_000);
  if (s.maxTonality !== undefined) checkNumber('maxTonality', s.maxTonality, 0, 1);
}

export interface VadSegment {
  /** 0, 1, 2 … per segmenter: contiguous, misfires take none. */
  index: number;
  /** Sample offsets (at the model's rate) from the first sample fed; end exclusive. */
  startSample: number;
  endSample: number;
  /** RMS over the segment's speech frames (PCM in [-1, 1]). */
  energyRms: number;
  /** Speech RMS over the running noise floor, dB. */
  snrDb: number;
  /** True when the segment was cut at `maxSegmentMs` and speech goes on in the next one. */
  cut: boolean;
}

export type VadEvent = { type: 'start'; index: number; startSample: number } | { type: 'end'; segment: VadSegment };

interface Frames {
  min: number;
  pre: number;
  post: number;
  redemption: number;
  max: number;
}

/**
 * The segmenter. Feed one frame at a time (`processInput(probability, frameRms, tonality, peakHz)`); it returns the
 * events that frame caused, in an array reused by the next call. `start` fires once speech has lasted
 * `minSpeechMs` (its `startSample` already includes the pre-pad); `end` fires after the hang-over.
 */
export class VadSegmenter {
  readonly frameSamples: number;
  readonly sampleRate: number;
  #settings: VadSettings;
  #frames!: Frames;
  readonly #noise = new NoiseFloor();
  readonly #events: VadEvent[] = [];
  #frame = 0;
  #nextIndex = 0;
  #prevEnd = 0;
  // Speech state (valid while #inSpeech).
  #inSpeech = false;
  #confirmed = false;
  #startFrame = 0;
  #lastSpeech = 0;
  #silence = 0;
  #energy = 0;
  #energyAtLast = 0;
  #framesAtLast = 0;
  #continued = false;
  #toneRun = 0;
  #tonePeakHz = 0;

  constructor(frameSamples: number, sampleRate: number, settings: Partial<VadSettings> = {}) {
    this.frameSamples = checkInt('frame_samples', frameSamples, 1, 1 << 20);
    this.sampleRate = checkInt('sample_rate', sampleRate, 1, 1_000_000);
    this.#settings = { ...defaultVadSettings };
    this.update(settings);
  }

  get settings(): Readonly<VadSettings> {
    return this.#settings;
  }

  /** Frames fed so far. */
  get frames(): number {
    return this.#frame;
  }

  /** Next segment index to be assigned. */
  get nextIndex(): number {
    return this.#nextIndex;
  }

  /** Frames in a row so far that were strongly tonal at one frequency (a steady tone from STEADY_TONE_FRAMES). */
  get toneRun(): number {
    return this.#toneRun;
  }

  /** Current noise-floor RMS estimate. */
  get noiseRms(): number {
    return this.#noise.rms;
  }

  /** Changes settings from the next frame on; throws DspOptionsError and keeps the old ones if invalid. */
  update(settings: Partial<VadSettings>): void {
    checkVadSettings(settings);
    const next = { ...this.#settings, ...settings };
    if (next.negativeThreshold > next.positiveThreshold) throw new DspOptionsError('negativeThreshold', `must not exceed positiveThreshold (${next.positiveThreshold})`);
    const ms = (v: number) => Math.round((v * this.sampleRate) / 1000 / this.frameSamples);
    this.#settings = next;
    this.#frames = {
      min: Math.max(1, ms(next.minSpeechMs)),
      pre: Math.round((next.prePadMs * this.sampleRate) / 1000),
      post: Math.round((next.postPadMs * this.sampleRate) / 1000),
      redemption: Math.max(1, ms(next.redemptionMs)),
      max: Math.max(2, ms(next.maxSegmentMs)),
    };
  }

  /** Starts the segment index sequence at `index` (a stream handed over from another segmenter). */
  continueFrom(index: number): void {
    this.#nextIndex = checkInt('index', index, 0);
  }

  processInput(probability: number, frameRms: number, tonality = 0, peakHz = 0): readonly VadEvent[] {
    const ev = this.#events;
    ev.length = 0;
    const i = this.#frame++;
    const s = this.#settings;
    const tone = this.#steadyTone(tonality, peakHz);
    // Unconfirmed speech that began with the tone (or the frame before it, its onset) was the tone.
    if (tone && this.#inSpeech && !this.#confirmed && this.#startFrame >= i - this.#toneRun) this.#inSpeech = false;
    const p = Number.isFinite(probability) && !tone ? probability : 0;
    const energy = Number.isFinite(frameRms) ? frameRms * frameRms : 0;
    if (p < s.negativeThreshold) this.#noise.update(frameRms);
    if (!this.#inSpeech) {
      if (p >= s.positiveThreshold) this.#begin(i, energy, false);
      return ev;
    }
    this.#energy += energy;
    if (p >= s.positiveThreshold || (this.#silence === 0 && p >= s.negativeThreshold)) {
      this.#silence = 0;
      this.#lastSpeech = i;
      this.#energyAtLast = this.#energy;
      this.#framesAtLast = i - this.#startFrame + 1;
    } else if (p < s.negativeThreshold) {
      this.#silence++;
    }
    const f = this.#frames;
    if (!this.#confirmed && this.#lastSpeech - this.#startFrame + 1 >= f.min) {
      this.#confirmed = true;
      ev.push({ type: 'start', index: this.#nextIndex, startSample: this.#startSample() });
    }
    if (this.#silence >= f.redemption) {
      this.#finish(false);
    } else if (this.#confirmed && i + 1 - this.#startFrame >= f.max) {
      // Cut here; speech goes on in a new segment starting at the next frame, with no pre-pad gap.
      this.#lastSpeech = i;
      this.#energyAtLast = this.#energy;
      this.#framesAtLast = i - this.#startFrame + 1;
      this.#finish(true);
      this.#begin(i + 1, 0, true);
    }
    return ev;
  }

  /** Ends open speech at the end of the stream; returns the events (reused array). */
  flush(): readonly VadEvent[] {
    const ev = this.#events;
    ev.length = 0;
    if (this.#inSpeech) this.#finish(false);
    return ev;
  }

  #steadyTone(tonality: number, peakHz: number): boolean {
    const s = this.#settings;
    if (s.maxTonality >= 1 || !(tonality >= s.maxTonality)) {
      this.#toneRun = 0;
    } else {
      this.#toneRun = this.#toneRun > 0 && Math.abs(peakHz - this.#tonePeakHz) <= STEADY_TONE_HZ ? this.#toneRun + 1 : 1;
    }
    this.#tonePeakHz = peakHz;
    return this.#toneRun >= STEADY_TONE_FRAMES;
  }

  #begin(frame: number, energy: number, continued: boolean): void {
    this.#inSpeech = true;
    this.#confirmed = false;
    this.#continued = continued;
    this.#startFrame = frame;
    this.#lastSpeech = frame;
    this.#silence = 0;
    this.#energy = energy;
    this.#energyAtLast = energy;
    this.#framesAtLast = 1;
  }

  #startSample(): number {
    const first = this.#startFrame * this.frameSamples;
    return this.#continued ? first : Math.max(this.#prevEnd, first - this.#frames.pre, 0);
  }

  #finish(cut: boolean): void {
    this.#inSpeech = false;
    const frames = this.#lastSpeech - this.#startFrame + 1;
    if (frames < this.#frames.min && !this.#continued) return; // a misfire
    if (!this.#confirmed) {
      this.#confirmed = true;
      this.#events.push({ type: 'start', index: this.#nextIndex, startSample: this.#startSample() });
    }
    const speechEnd = (this.#lastSpeech + 1) * this.frameSamples;
    const endSample = cut ? speechEnd : speechEnd + this.#frames.post;
    const energyRms = Math.sqrt(this.#energyAtLast / Math.max(1, this.#framesAtLast));
    const segment: VadSegment = {
      index: this.#nextIndex++,
      startSample: this.#startSample(),
      endSample,
      energyRms,
      snrDb: snrDb(energyRms, this.#noise.rms),
      cut,
    };
    this.#prevEnd = endSample;
    this.#events.push({ type: 'end', segment });
  }
}
