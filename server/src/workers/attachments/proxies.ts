/**
 * Where the REST access agents' media paths are, for an attachment indexer that starts before them.
 * Under `promethean start` the server (and the indexer inside it) starts first, the `discord-rest`
 * agents later, each on a port chosen when it starts. The supervisor then writes
 * `<data dir>/rest-proxies.json` (0600): the proxy base of every `provider/tenant`, the path of the proxy
 * client key file and that key's sha-256. The indexer reads the file when it needs a tenant it does not
 * know yet, and trusts it only while the key file still hashes to what the file says, so a file left
 * by an earlier run (whose key was replaced at this start) is never used to send the new key anywhere.
 * Neither file holds a provider credential.
 */
import { createHash } from 'node:crypto';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { PrometheanError } from '@promethean/shared';

export const MEDIA_PROXIES_FILE = 'rest-proxies.json';

/** `<data dir>/rest-proxies.json`. */
export function mediaProxiesPath(dataDir: string): string {
  return join(dataDir, MEDIA_PROXIES_FILE);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const ProxiesFile = z.object({
  format: z.literal(1),
  key_file: z.string().min(1),
  key_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  proxies: z.record(z.string().regex(/^[a-z0-9_-]+\/[a-z0-9_-]+$/), z.url({ protocol: /^https?$/ })).refine((p) => Object.keys(p).length <= 1000, 'at most 1000 proxies'),
});

/** Writes the file atomically (0600). `proxies`: `provider/tenant` → the proxy base (`http://…/api`). */
export async function writeMediaProxies(dataDir: string, proxies: ReadonlyMap<string, string>, keyFile: string): Promise<string> {
  const key = (await readFile(keyFile, 'utf8')).trim();
  const body = ProxiesFile.parse({ format: 1, key_file: keyFile, key_sha256: sha256(key), proxies: Object.fromEntries(proxies) });
  const path = mediaProxiesPath(dataDir);
  await writeFile(`${path}.tmp`, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
  await chmod(`${path}.tmp`, 0o600);
  await rename(`${path}.tmp`, path);
  return path;
}

export interface MediaProxy {
  /** The agent's proxy base (`http://127.0.0.1:PORT/api`). */
  base: string;
  /** The proxy client key; not a provider token. */
  clientKey: string;
}

export interface MediaProxyDirectoryOptions {
  /** The file `writeMediaProxies` writes. */
  file: string;
  /** Read the file again at most this often while a tenant is unknown, ms. */
  refreshMs: number;
}

export interface MediaProxyDirectoryCounters {
  /** Reads of the file. */
  reads: number;
  /** Reads that found no file yet. */
  missing: number;
  /** Files that did not parse, or named a key file that was unreadable. */
  invalid: number;
  /** Files whose key hash did not match the key file (left by an earlier start). */
  stale: number;
}

/** The proxies the file names, read lazily and again while a tenant is missing. */
export class MediaProxyDirectory {
  readonly options: MediaProxyDirectoryOptions;
  readonly counters: MediaProxyDirectoryCounters = { reads: 0, missing: 0, invalid: 0, stale: 0 };
  #known = new Map<string, MediaProxy>();
  #lastRead = -Infinity;
  #reading: Promise<void> | undefined;
  /** Why the last read found nothing usable. */
  lastProblem: string | undefined;

  constructor(options: Partial<MediaProxyDirectoryOptions> & Pick<MediaProxyDirectoryOptions, 'file'>) {
    this.options = { refreshMs: 500, ...options };
  }

  /** The proxy of `provider/tenant`; undefined while the file does not name it. */
  async resolve(provider: string, tenant: string): Promise<MediaProxy | undefined> {
    const key = `${provider}/${tenant}`;
    const hit = this.#known.get(key);
    if (hit) return hit;
    if (performance.now() - this.#lastRead >= this.options.refreshMs) {
      this.#reading ??= this.#read().finally(() => {
        this.#reading = undefined;
      });
      await this.#reading;
    }
    return this.#known.get(key);
  }

  /** Forgets what was read (a proxy that stopped answering may have moved). */
  forget(): void {
    this.#known = new Map();
    this.#lastRead = -Infinity;
  }

  async #read(): Promise<void> {
    this.#lastRead = performance.now();
    this.counters.reads++;
    let text: string;
    try {
      text = await readFile(this.options.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.counters.missing++;
        this.lastProblem = `${this.options.file} does not exist yet`;
        return;
      }
      return this.#invalid(`cannot read ${this.options.file}: ${(err as Error).message}`);
    }
    let parsed: z.infer<typeof ProxiesFile>;
    try {
      parsed = ProxiesFile.parse(JSON.parse(text));
    } catch (err) {
      return this.#invalid(`${this.options.file} is not a media proxies file: ${(err as Error).message.slice(0, 200)}`);
    }
    let clientKey: string;
    try {
      clientKey = (await readFile(parsed.key_file, 'utf8')).trim();
    } catch (err) {
      return this.#invalid(`cannot read the proxy client key ${parsed.key_file}: ${(err as Error).message}`);
    }
    if (sha256(clientKey) !== parsed.key_sha256) {
      this.counters.stale++;
      this.lastProblem = `${this.options.file} was written for another proxy client key (an earlier start)`;
      return;
    }
    this.lastProblem = undefined;
    this.#known = new Map(Object.entries(parsed.proxies).map(([k, base]) => [k, { base, clientKey }]));
  }

  #invalid(problem: string): void {
    this.counters.invalid++;
    this.lastProblem = problem;
  }
}

/** A typed error for a tenant whose media proxy never appeared. */
export function noProxyError(provider: string, tenant: string, problem: string | undefined): PrometheanError {
  return new PrometheanError('unavailable', `no media proxy for ${provider}/${tenant}${problem ? ` (${problem})` : ''}`, { path: 'proxies' });
}
