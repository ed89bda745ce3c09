/** Test helpers: where the installed model is, and whether it is there (tests then `requires()` it). */
import { existsSync } from 'node:fs';
import { MINILM_L6_V2 } from '@promethean/shared';
import { modelCacheDir } from './manifest.ts';
import { onnxPath } from './server-embedder.ts';

/** The model cache the tests read (`PROMETHEAN_MODELS_DIR` or `~/.cache/promethean/models`). */
export const TEST_MODEL_CACHE = modelCacheDir(process.env);

/** Whether all-MiniLM-L6-v2 is installed (`scripts/install-models.sh`). */
export function embeddingModelInstalled(): boolean {
  return existsSync(onnxPath(TEST_MODEL_CACHE, MINILM_L6_V2));
}

export const INSTALL_HINT = 'scripts/install-models.sh (or promethean models install all-MiniLM-L6-v2)';
