import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors.ts';
import type { FetchLike } from '../net/http.ts';
import captured from './fixtures/mediasoup-offers.json' with { type: 'json' };
import { httpSignalling } from './signalling.ts';

/** Answers each request with the next queued body; records what was sent. */
function recordingFetch(bodies: unknown[]): { fetch: FetchLike; sent: Array<{ url: string; method: string; body: unknown }> } {
  const sent: Array<{ url: string; method: string; body: unknown }> = [];
  const fetch: FetchLike = async (url, init) => {
    sent.push({ url, method: init?.method ?? 'GET', body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined });
    const body = bodies.shift();
    return body === undefined ? new Response(null, { status: 204 }) : Response.json(body);
  };
  return { fetch, sent };
}

describe('httpSignalling', () => {
  it('listens through the mediasoup driver and posts its answer with kind, revision and DTLS parameters', async () => {
    const { fetch, sent } = recordingFetch([captured.listen, undefined, captured.producers, undefined]);
    const sfu = httpSignalling(fetch);
    const offer = await sfu.listen('v1', ['111111111111111111', '222222222222222222']);
    expect(offer).toMatchObject({ listener_id: captured.listen.listener_id, kind: 'mediasoup', revision: 1 });
    const dtls = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AA' }] };
    await sfu.answer(offer.listener_id, { kind: 'mediasoup', revision: 1, rtpCapabilities: { codecs: [] }, dtlsParameters: dtls });
    const next = await sfu.producers(offer.listener_id, ['222222222222222222']);
    expect(next).toMatchObject({ kind: 'mediasoup', revision: 2 });
    await sfu.answer(offer.listener_id, { kind: 'sdp', sdp: 'v=0' });
    const base = `/api/sfu/listeners/${captured.listen.listener_id}`;
    expect(sent).toEqual([
      { url: '/api/sfu/listen', method: 'POST', body: { session_id: 'v1', user_ids: ['111111111111111111', '222222222222222222'] } },
      { url: `${base}/answer`, method: 'POST', body: { kind: 'mediasoup', revision: 1, rtpCapabilities: { codecs: [] }, dtlsParameters: dtls } },
      { url: `${base}/producers`, method: 'POST', body: { user_ids: ['222222222222222222'] } },
      { url: `${base}/answer`, method: 'POST', body: { sdp: 'v=0' } },
    ]);
  });

  it('listen() rejects an offer of an unknown kind with ApiError unsupported_offer', async () => {
    const { fetch } = recordingFetch([{ listener_id: 'L1', kind: 'janus', jsep: {} }]);
    const error = await httpSignalling(fetch).listen('v1', []).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'unsupported_offer', retryable: false });
  });
});
