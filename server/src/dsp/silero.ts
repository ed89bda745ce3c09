/**
 * Silero VAD v5 on onnxruntime-node. {@link SileroModel} holds one inference session per process (the
 * weights); {@link SileroVad} is one stream's processor: its recurrent state, the shared framing
 * (`SileroFramer`) and post-processing (`VadSegmenter`), fed 16 kHz PCM through `processInput()`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  PrometheanError,
  SILERO_CONTEXT_SAMPLES,
  SILERO_FRAME_SAMPLES,
  SILERO_SAMPLE_RATE,
  SILERO_STATE_SIZE,
  SileroFramer,
  VadSegmenter,
  type VadEvent,
  type VadSettings,
} from '@promethean/shared';
import { DEFAULT_MANIFEST_PATH, ModelEntrySchema, modelDir, sha256File, type ModelEntry } from '../embed/manifest.ts';

/** The manifest entry this runtime loads. */
export const SILERO_MODEL_NAME = 'silero-vad-v5';
/** Milliseconds of audio per model call. */
export const SILERO_FRAME_MS = (SILERO_FRAME_SAMPLES / SILERO_SAMPLE_RATE) * 1000;

/**
 * Finds the Silero entry in the model manifest. Only this entry is checked, so another model's entry
 * being edited cannot stop voice activity detection.
 */
export async function sileroManifestEntry(manifestPath = DEFAULT_MANIFEST_PATH): Promise<ModelEntry> {
  let doc: { models?: unknown[] };
  try {
    doc = JSON.parse(await readFile(manifestPath, 'utf8')) as { models?: unknown[] };
  } catch (cause) {
    throw new PrometheanError('bad_manifest', `cannot read the model manifest ${manifestPath}: ${(cause as Error).message}`, { cause });
  }
  const raw = (doc.models ?? []).find((m) => (m as { name?: unknown } | null)?.name === SILERO_MODEL_NAME);
  if (!raw) throw new PrometheanError('not_found', `model "${SILERO_MODEL_NAME}" is not in the model manifest ${manifestPath}`);
  const r = ModelEntrySchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new PrometheanError('bad_manifest', `model manifest ${manifestPath}: ${SILERO_MODEL_NAME}.${issue.path.join('.')}: ${issue.message}`);
  }
  return r.data;
}

export interface SileroModelOptions {
  /** The .onnx file; default: the manifest entry's, its sha256 checked once at load. */
  path: string | null;
  /** onnxruntime intra-op threads. One suits a 512-sample frame (threading costs more than it saves). */
  threads: number;
}

export const defaultSileroModelOptions: SileroModelOptions = { path: null, threads: 1 };

/** One loaded Silero model; calls run one at a time (a session per process serves every stream). */
export class SileroModel {
  readonly path: string;
  readonly sha256: string | null;
  readonly #session: ort.InferenceSession;
  readonly #sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(SILERO_SAMPLE_RATE)]), []);
  #chain: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(session: ort.InferenceSession, path: string, sha256: string | null) {
    this.#session = session;
    this.path = path;
    this.sha256 = sha256;
  }

  static async load(options: Partial<SileroModelOptions> = {}): Promise<SileroModel> {
    const o = { ...defaultSileroModelOptions, ...options };
    let path = o.path;
    let sha: string | null = null;
    if (path === null) {
      const entry = await sileroManifestEntry();
      const file = entry.files[0]!;
      path = join(modelDir(entry, ''), file.path);
      sha = await sha256File(path).catch((cause: unknown) => {
        throw new PrometheanError('not_found', `${SILERO_MODEL_NAME}: cannot read ${path}: ${(cause as Error).message}`, { cause });
      });
      if (sha !== file.sha256) throw new PrometheanError('bad_manifest', `${SILERO_MODEL_NAME}: ${path} has sha256 ${sha}, the manifest says ${file.sha256}`);
    }
    const session = await ort.InferenceSession.create(path, { intraOpNumThreads: o.threads, interOpNumThreads: 1, executionMode: 'sequential' });
    return new SileroModel(session, path, sha);
  }

  /**
   * Speech probability of one frame: `input` is 576 samples (64 of context + 512), `state` the
   * stream's 2·128 floats, replaced in place by the new state.
   */
  run(input: Float32Array, state: Float32Array): Promise<number> {
    if (this.#closed) return Promise.reject(new PrometheanError('invalid_state', 'the Silero model is closed'));
    const p = this.#chain.then(async () => {
      const out = await this.#session.run({
        input: new ort.Tensor('float32', input, [1, SILERO_CONTEXT_SAMPLES + SILERO_FRAME_SAMPLES]),
        state: new ort.Tensor('float32', state, [2, 1, SILERO_STATE_SIZE]),
        sr: this.#sr,
      });
      state.set(out.stateN!.data as Float32Array);
      return (out.output!.data as Float32Array)[0]!;
    });
    this.#chain = p.catch(() => undefined);
    return p;
  }

  /** Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#chain;
    await this.#session.release();
  }
}

/** What one `processInput()` call produced. */
export interface SileroOutput {
  /** Probabilities of the frames completed by this chunk, in order. */
  probs: number[];
  /** Segment events those frames caused. */
  events: VadEvent[];
}

/** One stream's voice-activity detector: 16 kHz float PCM in, probabilities and segments out. */
export class SileroVad {
  readonly model: SileroModel;
  readonly segmenter: VadSegmenter;
  readonly #framer = new SileroFramer();
  readonly #state = new Float32Array(2 * SILERO_STATE_SIZE);

  constructor(model: SileroModel, settings: Partial<VadSettings> = {}) {
    this.model = model;
    this.segmenter = new VadSegmenter(SILERO_FRAME_SAMPLES, SILERO_SAMPLE_RATE, settings);
  }

  /** Feeds 16 kHz samples in [-1, 1]. Calls must not overlap (await each). */
  async processInput(pcm16k: ArrayLike<number>): Promise<SileroOutput> {
    const probs: number[] = [];
    const events: VadEvent[] = [];
    // The framer's frames are views reused by its next call, so copy none and finish them here.
    for (const frame of this.#framer.processInput(pcm16k)) {
      const p = await this.model.run(frame.input, this.#state);
      probs.push(p);
      events.push(...this.segmenter.processInput(p, frame.rms, frame.tonality, frame.peakHz));
    }
    return { probs, events };
  }

  /** Ends open speech (end of stream). */
  flush(): VadEvent[] {
    return [...this.segmenter.flush()];
  }

  /** Samples consumed into whole frames so far (16 kHz). */
  get samples(): number {
    return this.#framer.frames * SILERO_FRAME_SAMPLES;
  }
}
