/**
 * One `rest.request` through @discordjs/rest's `REST` (which owns per-route buckets, the global
 * limit and 429 handling), turned into a `rest.response`: status, the bucket the answer named, and
 * `retry_after_ms` when the bucket is spent (how long callers should pace before the next request on
 * that route). Nothing here retries or counts buckets itself.
 */
import { DiscordAPIError, HTTPError, RateLimitError } from '@discordjs/rest';
import type { REST, RequestMethod, RouteLike } from '@discordjs/rest';
import type { RestRequest, RestResponse } from '@promethean/shared';

/** Largest response body passed on the bus, bytes (larger answers come back as an error). */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

function retryAfterMs(headers: { get(name: string): string | null }): number {
  if (headers.get('x-ratelimit-remaining') !== '0') return 0;
  const after = Number(headers.get('x-ratelimit-reset-after'));
  return Number.isFinite(after) && after > 0 ? Math.ceil(after * 1000) : 0;
}

export async function performRest(rest: REST, req: RestRequest): Promise<RestResponse> {
  const q = req.url.indexOf('?');
  const path = (q < 0 ? req.url : req.url.slice(0, q)) as RouteLike;
  const query = q < 0 ? undefined : new URLSearchParams(req.url.slice(q + 1));
  try {
    const res = await rest.queueRequest({
      fullRoute: path,
      method: req.method as RequestMethod,
      ...(req.body !== undefined ? { body: req.body } : {}),
      ...(query ? { query } : {}),
      ...(req.reason ? { reason: req.reason } : {}),
      signal: AbortSignal.timeout(req.timeout_ms),
    });
    const text = await res.text();
    if (text.length > MAX_RESPONSE_BYTES) return { status: 502, ok: false, bucket: res.headers.get('x-ratelimit-bucket'), retry_after_ms: 0, global: false, error: `response larger than ${MAX_RESPONSE_BYTES} bytes` };
    let data: unknown;
    if (text.length > 0) data = (res.headers.get('content-type') ?? '').includes('json') ? (JSON.parse(text) as unknown) : text;
    return {
      status: res.status,
      ok: res.status >= 200 && res.status < 300,
      bucket: res.headers.get('x-ratelimit-bucket'),
      retry_after_ms: retryAfterMs(res.headers),
      global: false,
      ...(data !== undefined ? { data } : {}),
    };
  } catch (error) {
    if (error instanceof DiscordAPIError) return { status: error.status, ok: false, bucket: null, retry_after_ms: 0, global: false, data: error.rawError, error: error.message.slice(0, 2000) };
    if (error instanceof RateLimitError) return { status: 429, ok: false, bucket: error.hash, retry_after_ms: Math.ceil(error.retryAfter), global: error.global, error: 'rate limited' };
    if (error instanceof HTTPError) return { status: error.status, ok: false, bucket: null, retry_after_ms: 0, global: false, error: error.message.slice(0, 2000) };
    const e = error as Error;
    const timeout = e?.name === 'TimeoutError' || e?.name === 'AbortError';
    return { status: 0, ok: false, bucket: null, retry_after_ms: 0, global: false, error: timeout ? `no answer within ${req.timeout_ms} ms` : String(e?.message ?? e).slice(0, 2000) };
  }
}
