/** How CLI clients (`tap`, `bench`) reach the running hub: the runtime file, or `--hub` / `--token-file`. */
import { readFile } from 'node:fs/promises';
import { BusClient } from '@promethean/shared';
import { readRuntimeFile } from '../hub/runtime-file.ts';

export interface HubLocation {
  url: string;
  token: string;
}

export async function locateHub(options: { dataDir: string; hub?: string; tokenFile?: string }): Promise<HubLocation> {
  if (options.hub !== undefined && options.tokenFile !== undefined) {
    return { url: options.hub, token: (await readFile(options.tokenFile, 'utf8')).trim() };
  }
  const info = await readRuntimeFile(options.dataDir);
  const keyFile = options.tokenFile ?? info.key_file;
  return { url: options.hub ?? info.hub_url, token: (await readFile(keyFile, 'utf8')).trim() };
}

export async function connectToHub(location: HubLocation): Promise<BusClient> {
  const client = new BusClient({ url: location.url, token: location.token });
  await client.connect();
  return client;
}
