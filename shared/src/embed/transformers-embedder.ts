/**
 * The Embedder over transformers.js, for both homes: the caller loads the tokenizer and the model
 * (`AutoTokenizer` / `AutoModel` from local files only) and hands them in; this file tokenises with
 * sentence-transformers' truncation, runs the model in bounded batches, pools and normalises. It imports
 * nothing from transformers.js itself, so `@promethean/shared` stays free of it: the shapes below are
 * the parts of its API this uses.
 */
import { InvalidStateError, PrometheanError } from '../errors.ts';
import type { Embedder, EmbedderCounters, SentenceModelSpec } from './embedder.ts';
import { EmbedInputError } from './embedder.ts';
import { l2Normalize, meanPool } from './pooling.ts';

/** A transformers.js `Tensor`, as far as this file reads it. */
export interface TensorLike {
  readonly data: ArrayLike<number | bigint>;
  readonly dims: readonly number[];
}

/** A transformers.js tokenizer (callable), asked for plain token id lists (`return_tensor: false`). */
export type TokenizerLike = (
  texts: string[],
  options: { padding: false; truncation: false; return_tensor: false },
) => Record<string, ReadonlyArray<ReadonlyArray<number>>>;

/** transformers.js's `Tensor` constructor, for the int64 model inputs. */
export type TensorFactory = new (type: 'int64', data: BigInt64Array, dims: number[]) => TensorLike;

/** A transformers.js `PreTrainedModel` (callable): named input tensors in, named outputs back. */
export interface ModelLike {
  (inputs: Record<string, TensorLike>): Promise<Record<string, TensorLike>>;
  dispose?(): Promise<unknown>;
}

export interface TransformersEmbedderOptions {
  /** Texts per model run; a call with more runs several batches in order. */
  batchSize: number;
  /** Texts per `embed()` call; more is refused with EmbedInputError. */
  maxTexts: number;
  /** Characters per text; a longer text is refused (the model reads only its first `maxSeqLength` tokens anyway). */
  maxChars: number;
  /** Calls accepted and not finished (the one running and those queued behind it); more is refused with a `rate_limited` PrometheanError. */
  maxPending: number;
}

export const defaultTransformersEmbedderOptions: TransformersEmbedderOptions = {
  batchSize: 32,
  maxTexts: 1024,
  maxChars: 20_000,
  maxPending: 64,
};

export class TransformersEmbedder implements Embedder {
  readonly model: string;
  readonly dimensions: number;
  readonly #spec: SentenceModelSpec;
  readonly #tokenizer: TokenizerLike;
  readonly #net: ModelLike;
  readonly #Tensor: TensorFactory;
  readonly #options: TransformersEmbedderOptions;
  readonly #counters: EmbedderCounters = { texts: 0, batches: 0, rejectedInputs: 0, rejectedBusy: 0 };
  /** The model runs one call at a time; calls chain here in arrival order. */
  #tail: Promise<unknown> = Promise.resolve();
  #pending = 0;
  #closing: Promise<void> | undefined;

  constructor(spec: SentenceModelSpec, tokenizer: TokenizerLike, model: ModelLike, Tensor: TensorFactory, options: Partial<TransformersEmbedderOptions> = {}) {
    this.#spec = spec;
    this.#Tensor = Tensor;
    this.model = spec.id;
    this.dimensions = spec.dimensions;
    this.#tokenizer = tokenizer;
    this.#net = model;
    this.#options = { ...defaultTransformersEmbedderOptions, ...options };
  }

  get counters(): Readonly<EmbedderCounters> {
    return { ...this.#counters };
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (this.#closing) return Promise.reject(new InvalidStateError(`embedder ${this.model} is closed`));
    try {
      this.#check(texts);
    } catch (err) {
      this.#counters.rejectedInputs++;
      return Promise.reject(err);
    }
    if (this.#pending >= this.#options.maxPending) {
      this.#counters.rejectedBusy++;
      return Promise.reject(new PrometheanError('rate_limited', `embedder ${this.model} has ${this.#pending} calls waiting (max ${this.#options.maxPending})`));
    }
    const copy = [...texts];
    this.#pending++;
    const run = this.#tail.then(() => this.#embedNow(copy));
    this.#tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run.finally(() => {
      this.#pending--;
    });
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#tail;
      await this.#net.dispose?.();
    })();
    return this.#closing;
  }

  #check(texts: readonly string[]): void {
    if (!Array.isArray(texts)) throw new EmbedInputError('texts must be an array of strings', 'texts');
    if (texts.length > this.#options.maxTexts) throw new EmbedInputError(`${texts.length} texts in one call (max ${this.#options.maxTexts})`, 'texts');
    texts.forEach((t, i) => {
      if (typeof t !== 'string') throw new EmbedInputError(`texts[${i}] is ${typeof t}, not a string`, `texts.${i}`);
      if (t.length > this.#options.maxChars) throw new EmbedInputError(`texts[${i}] has ${t.length} characters (max ${this.#options.maxChars})`, `texts.${i}`);
    });
  }

  async #embedNow(texts: string[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += this.#options.batchSize) {
      out.push(...(await this.#batch(texts.slice(i, i + this.#options.batchSize))));
    }
    this.#counters.texts += texts.length;
    return out;
  }

  /**
   * Token ids as sentence-transformers feeds them: a sequence longer than `maxSeqLength` keeps its
   * first `maxSeqLength - 1` tokens and its final special token ([SEP]), as the Python tokenizers
   * truncate before adding special tokens. (transformers.js's own truncation cuts after them and
   * drops the [SEP], which changes long texts' vectors; hence this.) Rows are right-padded with 0
   * under a 0 attention mask.
   */
  #inputs(texts: string[]): Record<string, TensorLike> {
    const enc = this.#tokenizer(texts, { padding: false, truncation: false, return_tensor: false });
    const max = this.#spec.maxSeqLength;
    const names = Object.keys(enc);
    if (!names.includes('input_ids') || !names.includes('attention_mask')) throw new PrometheanError('internal', 'the tokenizer returned no input_ids / attention_mask');
    const cut = (row: ReadonlyArray<number>) => (row.length > max ? [...row.slice(0, max - 1), row[row.length - 1]!] : row);
    const rows = Object.fromEntries(names.map((k) => [k, enc[k]!.map(cut)]));
    const width = Math.max(1, ...rows.input_ids!.map((r) => r.length));
    const inputs: Record<string, TensorLike> = {};
    for (const k of names) {
      const data = new BigInt64Array(texts.length * width);
      rows[k]!.forEach((r, i) => r.forEach((id, j) => (data[i * width + j] = BigInt(id))));
      inputs[k] = new this.#Tensor('int64', data, [texts.length, width]);
    }
    return inputs;
  }

  async #batch(texts: string[]): Promise<Float32Array[]> {
    const inputs = this.#inputs(texts);
    const mask = inputs.attention_mask!;
    const outputs = await this.#net(inputs);
    this.#counters.batches++;
    const hidden = outputs.last_hidden_state;
    if (!hidden || hidden.dims.length !== 3) throw new PrometheanError('internal', `model ${this.model} returned no [batch, tokens, dims] last_hidden_state`);
    const [batch, tokens, dims] = hidden.dims as [number, number, number];
    if (batch !== texts.length || dims !== this.dimensions) {
      throw new PrometheanError('internal', `model ${this.model} returned [${hidden.dims.join(', ')}] for ${texts.length} texts of ${this.dimensions} dimensions`);
    }
    const pooled = meanPool(hidden.data as ArrayLike<number>, mask.data, batch, tokens, dims);
    return this.#spec.normalize ? pooled.map(l2Normalize) : pooled;
  }
}
