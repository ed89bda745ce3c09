/** Node loader for agent.yml manifests. */
import { readFile } from 'node:fs/promises';
import { PrometheanError } from '../errors.ts';
import { parseManifestYaml, type AgentManifest } from '../manifest.ts';

/** Reads and validates an agent manifest. Throws {@link PrometheanError} `bad_manifest` naming the field. */
export async function loadManifest(path: string): Promise<AgentManifest> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new PrometheanError('bad_manifest', `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  return parseManifestYaml(text, path);
}
