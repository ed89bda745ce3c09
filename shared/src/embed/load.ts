/**
 * Loads a sentence model through a transformers.js module the caller imports (the Node build on the
 * server, the web build in the console), from local files only: `localModelPath` is a folder on the
 * server and a URL prefix in the browser (the server serves the model cache under `/models/`).
 */
import { PrometheanError } from '../errors.ts';
import type { SentenceModelSpec } from './embedder.ts';
import { MINILM_L6_V2 } from './embedder.ts';
import type { ModelLike, TensorFactory, TokenizerLike, TransformersEmbedderOptions } from './transformers-embedder.ts';
import { TransformersEmbedder } from './transformers-embedder.ts';

/** The parts of the transformers.js module this uses. */
export interface TransformersModule {
  env: {
    allowRemoteModels: boolean;
    allowLocalModels: boolean;
    localModelPath: string;
    backends: { onnx: { wasm?: { wasmPaths?: unknown; numThreads?: number } } };
  };
  AutoTokenizer: { from_pretrained(id: string, options: Record<string, unknown>): Promise<unknown> };
  AutoModel: { from_pretrained(id: string, options: Record<string, unknown>): Promise<unknown> };
  Tensor: unknown;
}

export interface LoadEmbedderOptions extends TransformersEmbedderOptions {
  /** Folder (server) or URL prefix (browser) holding `<model id>/config.json`, `onnx/model.onnx`, … */
  localModelPath: string;
  spec: SentenceModelSpec;
  /** transformers.js device: `cpu` on the server, `wasm` (or `webgpu`) in the browser. */
  device: string;
  /** onnxruntime-web's `.mjs` and `.wasm` files (browser only; transformers.js would otherwise fetch them from a CDN). */
  wasmPaths: { mjs: string; wasm: string } | undefined;
  /** onnxruntime session options (`intraOpNumThreads` on the server). */
  sessionOptions: Record<string, unknown> | undefined;
}

export const defaultLoadEmbedderOptions: Omit<LoadEmbedderOptions, 'localModelPath' | 'device'> = {
  spec: MINILM_L6_V2,
  wasmPaths: undefined,
  sessionOptions: undefined,
  batchSize: 32,
  maxTexts: 1024,
  maxChars: 20_000,
  maxPending: 64,
};

/** Loads the tokenizer and the fp32 ONNX model; a failure is PrometheanError('unavailable'). */
export async function loadTransformersEmbedder(
  lib: TransformersModule,
  options: Partial<LoadEmbedderOptions> & Pick<LoadEmbedderOptions, 'localModelPath' | 'device'>,
): Promise<TransformersEmbedder> {
  const o: LoadEmbedderOptions = { ...defaultLoadEmbedderOptions, ...options };
  // Module-wide settings of transformers.js: every model of this process or page comes from here.
  lib.env.allowRemoteModels = false;
  lib.env.allowLocalModels = true;
  lib.env.localModelPath = o.localModelPath.endsWith('/') ? o.localModelPath : `${o.localModelPath}/`;
  if (o.wasmPaths && lib.env.backends.onnx.wasm) lib.env.backends.onnx.wasm.wasmPaths = o.wasmPaths;
  try {
    const tokenizer = await lib.AutoTokenizer.from_pretrained(o.spec.id, { local_files_only: true });
    const model = await lib.AutoModel.from_pretrained(o.spec.id, {
      local_files_only: true,
      dtype: 'fp32',
      device: o.device,
      ...(o.sessionOptions ? { session_options: o.sessionOptions } : {}),
    });
    return new TransformersEmbedder(o.spec, tokenizer as TokenizerLike, model as ModelLike, lib.Tensor as TensorFactory, o);
  } catch (cause) {
    throw new PrometheanError('unavailable', `cannot load model ${o.spec.id} from ${o.localModelPath}: ${(cause as Error).message}`, { cause });
  }
}
