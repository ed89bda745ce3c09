/**
 * One speaker stream in the VAD worker: 48 kHz s16 PCM frames in (with their monotonic timestamps),
 * resampled to 16 kHz, Silero v5 and the shared post-processing, segments out on the stream's clock.
 *
 * Clock: the stream's first frame anchors it (`ts_monotonic_ns` of that frame = sample 0); later
 * samples are counted from there. A gap in the frames (the bridge sends nothing while a speaker is
 * silent) is filled with silence up to `maxGapMs`; a longer gap ends open speech and re-anchors the
 * clock at the next frame. Segment indices continue across re-anchoring, so ids stay contiguous.
 *
 * While speech goes on, `openSegment()` tells which segment it is (once the segmenter confirmed it:
 * it will be published when it ends) and the span heard so far, for announcements of open segments.
 */
import { Resampler, s16ToFloat, SILERO_SAMPLE_RATE, type VadEvent, type VadSegment, type VadSettings } from '@promethean/shared';
import { SileroVad, type SileroModel } from '../../dsp/silero.ts';

export interface VadStreamOptions {
  /** Rate of the PCM arriving (the bus's: 48 kHz). */
  inputRate: number;
  /** Longest silence inserted for missing frames; a longer gap re-anchors the clock. */
  maxGapMs: number;
}

export const defaultVadStreamOptions: VadStreamOptions = { inputRate: 48000, maxGapMs: 1000 };

/** A finished segment with its times on the stream's monotonic clock (ns). */
export interface TimedSegment extends VadSegment {
  tsStartNs: bigint;
  tsEndNs: bigint;
}

/** The segment speech is in now: its index, start, and the end of the audio heard so far (ns). */
export interface OpenSegment {
  index: number;
  tsStartNs: bigint;
  tsEndNs: bigint;
}

export class VadStream {
  readonly options: VadStreamOptions;
  readonly #model: SileroModel;
  #settings: Partial<VadSettings>;
  #vad: SileroVad;
  #resampler: Resampler;
  /** Monotonic ns of input sample 0 of the current run; undefined before the first frame. */
  #originNs: bigint | undefined;
  /** Input samples (at inputRate) fed in the current run. */
  #inputSamples = 0;
  #float = new Float32Array(960);
  /** The confirmed segment speech is in now (start event seen, end not yet). */
  #open: { index: number; tsStartNs: bigint } | undefined;
  /** When the last frame arrived (performance.now()), for idle expiry. */
  lastActivity = 0;

  constructor(model: SileroModel, settings: Partial<VadSettings>, options: Partial<VadStreamOptions> = {}) {
    this.options = { ...defaultVadStreamOptions, ...options };
    this.#model = model;
    this.#settings = settings;
    this.#vad = new SileroVad(model, settings);
    this.#resampler = new Resampler(this.options.inputRate, SILERO_SAMPLE_RATE, {}, 960);
  }

  get settings(): Readonly<VadSettings> {
    return this.#vad.segmenter.settings;
  }

  /** Changes settings from the next frame (throws DspOptionsError, keeping the old, when invalid). */
  update(settings: Partial<VadSettings>): void {
    this.#vad.segmenter.update(settings);
    this.#settings = { ...this.#settings, ...settings };
  }

  /** Feeds one PCM frame; returns the segments it finished. Calls must not overlap. */
  async push(pcm: Int16Array, tsMonotonicNs: bigint): Promise<TimedSegment[]> {
    this.lastActivity = performance.now();
    const done: TimedSegment[] = [];
    if (this.#originNs === undefined) {
      this.#originNs = tsMonotonicNs;
    } else {
      const expected = this.#originNs + (BigInt(this.#inputSamples) * 1_000_000_000n) / BigInt(this.options.inputRate);
      const gapNs = tsMonotonicNs - expected;
      const gapSamples = Number((gapNs * BigInt(this.options.inputRate)) / 1_000_000_000n);
      if (gapNs > BigInt(this.options.maxGapMs) * 1_000_000n) {
        done.push(...this.#flush());
        this.#restart(tsMonotonicNs);
      } else if (gapSamples >= pcm.length / 2) {
        // A missing frame or more: silence keeps the clock honest.
        done.push(...(await this.#feed(new Float32Array(gapSamples))));
      }
    }
    if (this.#float.length < pcm.length) this.#float = new Float32Array(pcm.length);
    const samples = s16ToFloat(pcm, this.#float.subarray(0, pcm.length));
    done.push(...(await this.#feed(samples)));
    return done;
  }

  /** The index the next segment gets. */
  get nextIndex(): number {
    return this.#vad.segmenter.nextIndex;
  }

  /** Continues a segment index sequence handed over by the DSP offload scheduler (`dsp.lease`). */
  continueFrom(index: number): void {
    this.#vad.segmenter.continueFrom(index);
  }

  /** Ends open speech (stream closed or idle). */
  flush(): TimedSegment[] {
    return this.#flush();
  }

  /** Stream time just after the audio fed so far (frames and silence); undefined before the first frame. */
  heardNs(): bigint | undefined {
    if (this.#originNs === undefined) return undefined;
    return this.#originNs + (BigInt(this.#inputSamples) * 1_000_000_000n) / BigInt(this.options.inputRate);
  }

  /** The segment speech is in now, with the span heard so far; undefined between segments. */
  openSegment(): OpenSegment | undefined {
    const heardNs = this.heardNs();
    if (!this.#open || heardNs === undefined) return undefined;
    return { index: this.#open.index, tsStartNs: this.#open.tsStartNs, tsEndNs: heardNs > this.#open.tsStartNs ? heardNs : this.#open.tsStartNs };
  }

  /**
   * Feeds silence up to stream time `tsNs` (at most `maxGapMs` past what was heard): for a stream
   * whose frames stopped, since the bridge sends nothing while a speaker is silent and open speech
   * would otherwise wait for the speaker's next frame to end. Returns the segments it finished.
   * Calls must not overlap with `push()`.
   */
  async padSilenceTo(tsNs: bigint): Promise<TimedSegment[]> {
    const heard = this.heardNs();
    if (heard === undefined || tsNs <= heard) return [];
    const maxNs = BigInt(this.options.maxGapMs) * 1_000_000n;
    const gapNs = tsNs - heard > maxNs ? maxNs : tsNs - heard;
    const samples = Number((gapNs * BigInt(this.options.inputRate)) / 1_000_000_000n);
    return samples > 0 ? this.#feed(new Float32Array(samples)) : [];
  }

  async #feed(samples: Float32Array): Promise<TimedSegment[]> {
    this.#inputSamples += samples.length;
    const out = await this.#vad.processInput(this.#resampler.processInput(samples));
    return this.#timed(out.events);
  }

  #flush(): TimedSegment[] {
    return this.#timed(this.#vad.flush());
  }

  #restart(originNs: bigint): void {
    const next = this.#vad.segmenter.nextIndex;
    this.#vad = new SileroVad(this.#model, this.#settings);
    this.#vad.segmenter.continueFrom(next);
    this.#resampler = new Resampler(this.options.inputRate, SILERO_SAMPLE_RATE, {}, 960);
    this.#originNs = originNs;
    this.#inputSamples = 0;
    this.#open = undefined;
  }

  #timed(events: readonly VadEvent[]): TimedSegment[] {
    const out: TimedSegment[] = [];
    const origin = this.#originNs ?? 0n;
    const ns = (sample16k: number) => origin + (BigInt(sample16k) * 1_000_000_000n) / BigInt(SILERO_SAMPLE_RATE);
    // In order: one call can end a segment and start the next (a cut at maxSegmentMs), or the reverse.
    for (const e of events) {
      if (e.type === 'start') {
        this.#open = { index: e.index, tsStartNs: ns(e.startSample) };
      } else {
        if (this.#open?.index === e.segment.index) this.#open = undefined;
        out.push({ ...e.segment, tsStartNs: ns(e.segment.startSample), tsEndNs: ns(e.segment.endSample) });
      }
    }
    return out;
  }
}
