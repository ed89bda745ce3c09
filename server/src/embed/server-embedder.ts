/**
 * The server's Embedder: all-MiniLM-L6-v2's ONNX export from the model cache, run by transformers.js on
 * onnxruntime-node, local files only (transformers.js is told never to reach a model hub).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { loadTransformersEmbedder, MINILM_L6_V2, PrometheanError } from '@promethean/shared';
import type { SentenceModelSpec, TransformersEmbedder, TransformersEmbedderOptions, TransformersModule } from '@promethean/shared';

export interface ServerEmbedderOptions extends TransformersEmbedderOptions {
  /** The model cache (the folder holding `all-MiniLM-L6-v2/`); see `modelCacheDir()`. */
  cacheDir: string;
  /** Which model; the project has one for every stored vector. */
  spec: SentenceModelSpec;
  /** onnxruntime intra-op threads (0: onnxruntime's default). */
  threads: number;
}

export const defaultServerEmbedderOptions: Omit<ServerEmbedderOptions, 'cacheDir'> = {
  spec: MINILM_L6_V2,
  threads: 0,
  batchSize: 32,
  maxTexts: 1024,
  maxChars: 20_000,
  maxPending: 64,
};

/** The ONNX file transformers.js loads for dtype fp32: `<cache>/<model>/onnx/model.onnx`. */
export function onnxPath(cacheDir: string, spec: SentenceModelSpec = MINILM_L6_V2): string {
  return join(cacheDir, spec.id, 'onnx', 'model.onnx');
}

/**
 * Loads the model and returns an Embedder. A missing model is PrometheanError('unavailable') saying how
 * to install it.
 */
export async function openServerEmbedder(options: Partial<ServerEmbedderOptions> & { cacheDir: string }): Promise<TransformersEmbedder> {
  const o: ServerEmbedderOptions = { ...defaultServerEmbedderOptions, ...options };
  const file = onnxPath(o.cacheDir, o.spec);
  if (!(await stat(file).catch(() => undefined))?.isFile()) {
    throw new PrometheanError('unavailable', `model ${o.spec.id} is not installed (no ${file}); run \`promethean models install ${o.spec.id}\``);
  }
  const lib = (await import('@huggingface/transformers')) as unknown as TransformersModule;
  return loadTransformersEmbedder(lib, {
    ...o,
    localModelPath: o.cacheDir,
    device: 'cpu',
    sessionOptions: o.threads > 0 ? { intraOpNumThreads: o.threads } : undefined,
  });
}
