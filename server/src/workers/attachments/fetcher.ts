/**
 * Fetching attachment bytes through the tenant's REST access agent's media path
 * (`GET <proxy>/media?url=<CDN URL>`, `Authorization: Bot <proxy client key>`): the agent fetches from
 * the provider's CDN without the bot token; this process never holds one. Bodies are read with a cap.
 */
import { PrometheanError } from '@promethean/shared';

export type FetchOutcome =
  | { status: 'ok'; bytes: Uint8Array; contentType: string | null }
  | { status: 'oversize'; error: string }
  | { status: 'failed'; error: string; retryable: boolean };

export interface AttachmentFetcher {
  fetch(provider: string, tenant: string, url: string, maxBytes: number): Promise<FetchOutcome>;
}

export interface ProxyMediaFetcherOptions {
  /** `provider/tenant` → the agent's proxy base (`http://127.0.0.1:PORT`, with or without `/api`). */
  proxies: Record<string, string>;
  /** The proxy client key (`<data dir>/keys/rest-proxy.key`); not a provider token. */
  clientKey: string;
  timeoutMs: number;
}

export class ProxyMediaFetcher implements AttachmentFetcher {
  readonly #options: ProxyMediaFetcherOptions;

  constructor(options: Partial<ProxyMediaFetcherOptions> & Pick<ProxyMediaFetcherOptions, 'proxies' | 'clientKey'>) {
    this.#options = { timeoutMs: 30_000, ...options };
  }

  async fetch(provider: string, tenant: string, url: string, maxBytes: number): Promise<FetchOutcome> {
    const base = this.#options.proxies[`${provider}/${tenant}`];
    if (!base) throw new PrometheanError('bad_config', `no media proxy configured for ${provider}/${tenant}`, { path: 'proxies' });
    const media = `${base.replace(/\/api\/?$/, '').replace(/\/$/, '')}/media?url=${encodeURIComponent(url)}`;
    let res: Response;
    try {
      res = await fetch(media, { headers: { authorization: `Bot ${this.#options.clientKey}` }, redirect: 'error', signal: AbortSignal.timeout(this.#options.timeoutMs) });
    } catch (err) {
      return { status: 'failed', error: `media proxy unreachable: ${(err as Error).message}`, retryable: true };
    }
    if (res.status === 413) {
      await res.body?.cancel();
      return { status: 'oversize', error: 'larger than the media proxy passes' };
    }
    if (!res.ok) {
      const text = (await res.text().catch(() => '')).slice(0, 200);
      return { status: 'failed', error: `media proxy answered ${res.status} ${text}`.trim(), retryable: res.status === 429 || res.status >= 500 };
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      await res.body?.cancel();
      return { status: 'oversize', error: `${declared} bytes exceed the ${maxBytes}-byte cap` };
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of res.body ?? []) {
      total += chunk.byteLength;
      if (total > maxBytes) {
        await res.body?.cancel().catch(() => undefined);
        return { status: 'oversize', error: `more than the ${maxBytes}-byte cap` };
      }
      chunks.push(chunk);
    }
    return { status: 'ok', bytes: Buffer.concat(chunks), contentType: res.headers.get('content-type') };
  }
}
