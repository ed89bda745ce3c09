/**
 * The one `Embedder` interface: text in, unit-length vectors out. Every stored vector of the project
 * comes from one model ({@link MINILM_L6_V2}); the server runs it on onnxruntime-node, the console on
 * onnxruntime-web (WASM), both through transformers.js and the same ONNX files.
 */
import { PrometheanError } from '../errors.ts';

export interface Embedder {
  /** The model id (`all-MiniLM-L6-v2`); stored beside every vector. */
  readonly model: string;
  /** Length of every vector (384). */
  readonly dimensions: number;
  /**
   * One L2-normalised vector per text, in order. Rejects with {@link EmbedInputError} for bad input
   * (not strings, too many texts, a text too long) and InvalidStateError after `close()`.
   */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  /** Idempotent; releases the model. */
  close(): Promise<void>;
}

/** What a sentence-transformers model does after the transformer (its `modules.json` and pooling config). */
export interface SentenceModelSpec {
  /** The model id, also the folder name under the model cache. */
  id: string;
  dimensions: number;
  /** sentence-transformers' `max_seq_length`: longer inputs are truncated to this many tokens. */
  maxSeqLength: number;
  /** Pooling over the token vectors (only `mean` is implemented: the attention-masked average). */
  pooling: 'mean';
  /** Whether the pooled vector is L2-normalised (the `Normalize` module). */
  normalize: boolean;
}

/**
 * all-MiniLM-L6-v2 as sentence-transformers runs it: `modules.json` lists Transformer → Pooling →
 * Normalize, `1_Pooling/config.json` sets `pooling_mode_mean_tokens`, `sentence_bert_config.json` sets
 * `max_seq_length: 256` (the tokenizer's own limit is 512).
 */
export const MINILM_L6_V2: SentenceModelSpec = Object.freeze({
  id: 'all-MiniLM-L6-v2',
  dimensions: 384,
  maxSeqLength: 256,
  pooling: 'mean',
  normalize: true,
});

/** Input an embedder refuses: `path` names the offending index (`texts.3`). */
export class EmbedInputError extends PrometheanError {
  override name = 'EmbedInputError';
  constructor(message: string, path?: string) {
    super('schema', message, path === undefined ? {} : { path });
  }
}

/** Counters every embedder keeps. */
export interface EmbedderCounters {
  /** Texts embedded. */
  texts: number;
  /** Model runs (one per batch). */
  batches: number;
  /** Calls refused with EmbedInputError. */
  rejectedInputs: number;
  /** Calls refused because too many were waiting. */
  rejectedBusy: number;
}
