/**
 * Silero VAD v5 framing, shared by the browser (onnxruntime-web) and the server (onnxruntime-node):
 * the model takes `input` [1, 576] float32 = the previous frame's last 64 samples of context + 512 new
 * samples at 16 kHz, `state` [2, 1, 128] float32 carried from the previous call's `stateN`, and `sr`
 * (int64 scalar, 16000); it returns `output` [1, 1], the speech probability of the 512 new samples.
 * This file only frames audio; running the model is the runtime's job.
 */
import { checkInt } from './errors.ts';
import { rms } from './energy.ts';
import { TonalityMeter } from './tonality.ts';

export const SILERO_SAMPLE_RATE = 16000;
/** New samples per model call (32 ms). */
export const SILERO_FRAME_SAMPLES = 512;
/** Samples of context carried from the previous frame. */
export const SILERO_CONTEXT_SAMPLES = 64;
/** Size of one layer of the recurrent state ([2, 1, 128] in all). */
export const SILERO_STATE_SIZE = 128;

/** One model input: a view into the framer's pool, valid until the next `processInput`. */
export interface SileroFrame {
  /** 576 samples: 64 of context, then the frame's 512. */
  input: Float32Array;
  /** RMS of the frame's 512 new samples. */
  rms: number;
  /** Tonality of the 512 new samples (see `TonalityMeter`). */
  tonality: number;
  /** Frequency of the strongest spectral peak of the 512 new samples, Hz. */
  peakHz: number;
  /** 0, 1, 2 …: frame k covers samples k·512 … k·512 + 512 of the 16 kHz stream. */
  index: number;
}

/** Cuts a 16 kHz stream into Silero inputs. Buffers are allocated once for chunks up to `maxChunk`. */
export class SileroFramer {
  #pool: SileroFrame[] = [];
  readonly #pending = new Float32Array(SILERO_FRAME_SAMPLES);
  #pendingLen = 0;
  readonly #context = new Float32Array(SILERO_CONTEXT_SAMPLES);
  #next = 0;
  readonly #out: SileroFrame[] = [];
  readonly #tonality = new TonalityMeter(SILERO_FRAME_SAMPLES, SILERO_SAMPLE_RATE);

  constructor(maxChunk = 4096) {
    checkInt('max_chunk', maxChunk, 1, 1 << 24);
    this.#grow(Math.ceil(maxChunk / SILERO_FRAME_SAMPLES) + 1);
  }

  /** Frames completed by this chunk (an array and frames reused by the next call). */
  processInput(chunk: ArrayLike<number>): readonly SileroFrame[] {
    const out = this.#out;
    out.length = 0;
    const need = Math.ceil((this.#pendingLen + chunk.length) / SILERO_FRAME_SAMPLES);
    if (need > this.#pool.length) this.#grow(need);
    let i = 0;
    while (i < chunk.length) {
      const take = Math.min(SILERO_FRAME_SAMPLES - this.#pendingLen, chunk.length - i);
      for (let k = 0; k < take; k++) this.#pending[this.#pendingLen + k] = chunk[i + k]!;
      this.#pendingLen += take;
      i += take;
      if (this.#pendingLen < SILERO_FRAME_SAMPLES) break;
      const frame = this.#pool[out.length]!;
      frame.input.set(this.#context, 0);
      frame.input.set(this.#pending, SILERO_CONTEXT_SAMPLES);
      frame.rms = rms(this.#pending);
      frame.tonality = this.#tonality.measure(this.#pending);
      frame.peakHz = this.#tonality.peakHz;
      frame.index = this.#next++;
      this.#context.set(this.#pending.subarray(SILERO_FRAME_SAMPLES - SILERO_CONTEXT_SAMPLES));
      this.#pendingLen = 0;
      out.push(frame);
    }
    return out;
  }

  /** Frames emitted so far. */
  get frames(): number {
    return this.#next;
  }

  reset(): void {
    this.#pendingLen = 0;
    this.#context.fill(0);
    this.#next = 0;
  }

  #grow(n: number): void {
    while (this.#pool.length < n) this.#pool.push({ input: new Float32Array(SILERO_CONTEXT_SAMPLES + SILERO_FRAME_SAMPLES), rms: 0, tonality: 0, peakHz: 0, index: 0 });
  }
}
