/** How CLI clients (`tap`, `bench`) reach the running hub: the runtime file, or `--hub` / `--token-file`. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { agentKeyPath } from '../hub/agent-keys.ts';
import { BusClient } from '@promethean/shared';
import { readRuntimeFile } from '../hub/runtime-file.ts';

export interface HubLocation {
  url: string;
  token: string;
}

/**
 * Finds the running hub and the key to use: `--hub`/`--token-file` when given; else the runtime
 * file's hub and, for a client with its own key (`tap`'s read-only one), `keys/<as>.key`, falling
 * back to the hub's key.
 */
export async function locateHub(options: { dataDir: string; hub?: string; tokenFile?: string; as?: string }): Promise<HubLocation> {
  if (options.hub !== undefined && options.tokenFile !== undefined) {
    return { url: options.hub, token: (await readFile(options.tokenFile, 'utf8')).trim() };
  }
  const info = await readRuntimeFile(options.dataDir);
  const own = options.as ? agentKeyPath(options.dataDir, options.as) : undefined;
  const keyFile = options.tokenFile ?? (own && existsSync(own) ? own : info.key_file);
  return { url: options.hub ?? info.hub_url, token: (await readFile(keyFile, 'utf8')).trim() };
}

export async function connectToHub(location: HubLocation): Promise<BusClient> {
  const client = new BusClient({ url: location.url, token: location.token });
  await client.connect();
  return client;
}
