import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors.ts';
import { requestJson, type FetchLike } from './http.ts';

function answering(status: number, body: string, seen: Array<{ url: string; init: RequestInit | undefined }> = []): FetchLike {
  return async (url, init) => {
    seen.push({ url, init });
    return new Response(status === 204 ? null : body, { status });
  };
}

describe('requestJson', () => {
  it('sends JSON with the cookie credentials mode and parses the answer', async () => {
    const seen: Array<{ url: string; init: RequestInit | undefined }> = [];
    const out = await requestJson<{ ok: boolean }>(answering(200, '{"ok":true}', seen), '/api/x', { method: 'POST', body: { a: 1 } });
    expect(out).toEqual({ ok: true });
    expect(seen[0]!.init).toMatchObject({ method: 'POST', credentials: 'same-origin', body: '{"a":1}' });
    expect((seen[0]!.init!.headers as Record<string, string>)['content-type']).toBe('application/json');
  });

  it('resolves undefined for 204', async () => {
    await expect(requestJson(answering(204, ''), '/api/x', { method: 'DELETE' })).resolves.toBeUndefined();
  });

  it('turns {error:{code,message}} into an ApiError; 404 is final, 429 and 503 are retryable', async () => {
    const e404 = await requestJson(answering(404, '{"error":{"code":"not_found","message":"no such listener"}}'), '/a').catch((e: unknown) => e);
    expect(e404).toBeInstanceOf(ApiError);
    expect(e404).toMatchObject({ status: 404, code: 'not_found', message: 'no such listener', retryable: false });
    const e429 = await requestJson(answering(429, '{"error":{"code":"rate_limited","message":"slow down"}}'), '/a').catch((e: unknown) => e);
    expect(e429).toMatchObject({ status: 429, retryable: true });
    const e503 = await requestJson(answering(503, 'Service Unavailable'), '/a').catch((e: unknown) => e);
    expect(e503).toMatchObject({ status: 503, code: 'http_503', retryable: true });
  });

  it('reports a network failure as status 0, retryable, with the cause kept', async () => {
    const boom = new TypeError('fetch failed');
    const err = await requestJson(async () => Promise.reject(boom), '/api/me').catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 0, code: 'network', retryable: true });
    expect((err as Error).cause).toBe(boom);
  });
});
