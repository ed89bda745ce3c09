/** Node loader for providers.yml. */
import { readFile } from 'node:fs/promises';
import { PrometheanError } from '../errors.ts';
import { parseProvidersConfig, type Env, type ProviderRegistry } from '../providers-registry.ts';

/**
 * Reads and parses providers.yml. `env` defaults to this process's environment; pass an explicit one
 * to control which variables a loader sees. Throws {@link PrometheanError} `bad_config`.
 */
export async function loadProviders(path: string, env: Env = process.env): Promise<ProviderRegistry> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new PrometheanError('bad_config', `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  return parseProvidersConfig(text, env, path);
}
