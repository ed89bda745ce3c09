/**
 * The attachment indexer as the server runs it under `promethean start`: in the server process, on the
 * server's store (PGlite is single-process, as for the message indexer), tokenless. It finds each
 * tenant's media proxy and the proxy client key through `<data dir>/rest-proxies.json`
 * (see proxies.ts), which the supervisor writes once the REST agents listen; attachments seen before
 * that wait (bounded) for it. `main.ts` stays the entry of its own process (PostgreSQL, or a PGlite
 * directory of its own) with the proxies in its environment.
 */
import { PrometheanError } from '@promethean/shared';
import type { AgentBus } from '@promethean/shared/node';
import type { Store } from '../../store/index.ts';
import { ProxyMediaFetcher, type AttachmentFetcher, type FetchOutcome } from './fetcher.ts';
import { startAttachmentIndexer, type RunningAttachmentIndexer } from './index.ts';
import { defaultAttachmentWorkerOptions, type AttachmentWorkerOptions } from './worker.ts';
import { MediaProxyDirectory, mediaProxiesPath, noProxyError, type MediaProxy } from './proxies.ts';

export interface DirectoryMediaFetcherOptions {
  /** How long a fetch waits for its tenant's proxy to appear in the file, ms. */
  proxyWaitMs: number;
  /** `timeoutMs` of each media request. */
  timeoutMs: number;
}

export const defaultDirectoryMediaFetcherOptions: DirectoryMediaFetcherOptions = { proxyWaitMs: 60_000, timeoutMs: 30_000 };

/** A fetcher over the proxies a {@link MediaProxyDirectory} names (through {@link ProxyMediaFetcher}). */
export class DirectoryMediaFetcher implements AttachmentFetcher {
  readonly options: DirectoryMediaFetcherOptions;
  readonly directory: MediaProxyDirectory;
  readonly #abort = new AbortController();
  /** One ProxyMediaFetcher per (proxy, key) pair in use; replaced when the file changes. */
  #fetchers = new Map<string, ProxyMediaFetcher>();

  constructor(directory: MediaProxyDirectory, options: Partial<DirectoryMediaFetcherOptions> = {}) {
    this.directory = directory;
    this.options = { ...defaultDirectoryMediaFetcherOptions, ...options };
  }

  async fetch(provider: string, tenant: string, url: string, maxBytes: number): Promise<FetchOutcome> {
    const proxy = await this.#proxy(provider, tenant);
    if (!proxy) return { status: 'failed', error: noProxyError(provider, tenant, this.directory.lastProblem).message, retryable: true };
    const key = `${provider}/${tenant}\u0000${proxy.base}\u0000${proxy.clientKey}`;
    let fetcher = this.#fetchers.get(key);
    if (!fetcher) {
      // Bounded: a new entry only when the file names a new proxy or key; keep the last few.
      if (this.#fetchers.size >= 64) this.#fetchers = new Map();
      fetcher = new ProxyMediaFetcher({ proxies: { [`${provider}/${tenant}`]: proxy.base }, clientKey: proxy.clientKey, timeoutMs: this.options.timeoutMs });
      this.#fetchers.set(key, fetcher);
    }
    const out = await fetcher.fetch(provider, tenant, url, maxBytes);
    // An unreachable proxy or a refused key: the file may have been rewritten since (a new start).
    if (out.status === 'failed' && (out.error.startsWith('media proxy unreachable') || out.error.startsWith('media proxy answered 401'))) this.directory.forget();
    return out;
  }

  /** Stops waiting for proxies (pending fetches reject with `unavailable`). */
  close(): void {
    this.#abort.abort();
  }

  /** The tenant's proxy, waiting for the file to name it; undefined after `proxyWaitMs`. */
  async #proxy(provider: string, tenant: string): Promise<MediaProxy | undefined> {
    const deadline = performance.now() + this.options.proxyWaitMs;
    for (;;) {
      if (this.#abort.signal.aborted) throw new PrometheanError('unavailable', 'the attachment indexer is stopping');
      const proxy = await this.directory.resolve(provider, tenant);
      if (proxy) return proxy;
      const left = deadline - performance.now();
      if (left <= 0) return undefined;
      // Polling a small local file until the supervisor writes it; the wait is bounded and abortable.
      const signal = this.#abort.signal;
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, Math.min(left, this.directory.options.refreshMs));
        function done() {
          clearTimeout(t);
          signal.removeEventListener('abort', done);
          resolve();
        }
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }
}

export interface InProcessAttachmentIndexerOptions extends Partial<AttachmentWorkerOptions>, Partial<DirectoryMediaFetcherOptions> {
  /** The data directory the supervisor writes `rest-proxies.json` and `keys/rest-proxy.key` into. */
  dataDir: string;
  logLevel?: string;
  buildSha?: string;
}

export interface InProcessAttachmentIndexer extends RunningAttachmentIndexer {
  fetcher: DirectoryMediaFetcher;
}

/** Starts the attachment indexer on a bus and the server's store; stop() also ends proxy waits. */
export function startAttachmentIndexerInProcess(bus: AgentBus, store: Store, options: InProcessAttachmentIndexerOptions): InProcessAttachmentIndexer {
  const { dataDir, proxyWaitMs, timeoutMs, ...rest } = options;
  const fetcher = new DirectoryMediaFetcher(new MediaProxyDirectory({ file: mediaProxiesPath(dataDir) }), {
    ...(proxyWaitMs !== undefined ? { proxyWaitMs } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
  const running = startAttachmentIndexer(bus, store, fetcher, rest);
  return {
    ...running,
    fetcher,
    stop() {
      fetcher.close();
      running.stop();
    },
  };
}

/**
 * `PROMETHEAN_ATTACHMENT_MAX_BYTES` (bytes, 1 B to 1 GiB; 10 MiB when unset), for the server's wiring;
 * a bad value is a `bad_config` error naming the variable.
 */
export function parseAttachmentMaxBytes(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return defaultAttachmentWorkerOptions.maxBytes;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1024 * 1024 * 1024) {
    throw new PrometheanError('bad_config', `PROMETHEAN_ATTACHMENT_MAX_BYTES: must be a whole number of bytes from 1 to 1073741824, got "${value}"`, { path: 'PROMETHEAN_ATTACHMENT_MAX_BYTES' });
  }
  return n;
}
