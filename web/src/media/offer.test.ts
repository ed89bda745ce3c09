/**
 * Offer parsing and answer bodies. `fixtures/mediasoup-offers.json` holds two offers made by the
 * server's real mediasoup driver (worker 3.12.16) for one listener: alice and bob, then bob only.
 */
import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors.ts';
import captured from './fixtures/mediasoup-offers.json' with { type: 'json' };
import { answerBody, parseOffer, type MediasoupOffer } from './offer.ts';

const clone = <T>(v: T): T => structuredClone(v);

function parseError(body: unknown): ApiError {
  try {
    parseOffer(body, '/api/sfu/listen');
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('parseOffer accepted the body');
}

describe('parseOffer', () => {
  it('takes an SDP offer, with or without kind (servers before the mediasoup driver)', () => {
    const tracks = [{ mid: '0', producer_id: 'p', user_id: 'u' }];
    expect(parseOffer({ kind: 'sdp', sdp: 'v=0', tracks, skipped: [] }, 'x')).toEqual({ kind: 'sdp', sdp: 'v=0', tracks });
    expect(parseOffer({ sdp: 'v=0', tracks }, 'x')).toEqual({ kind: 'sdp', sdp: 'v=0', tracks });
    expect(parseError({ kind: 'sdp', tracks }).code).toBe('bad_response');
  });

  it('takes the mediasoup driver\'s offer as it comes, consumers in the order of tracks', () => {
    const offer = parseOffer(captured.listen, '/api/sfu/listen') as MediasoupOffer;
    expect(offer.kind).toBe('mediasoup');
    expect(offer.revision).toBe(1);
    expect(offer.transport).toEqual(captured.listen.transport);
    expect(offer.routerRtpCapabilities).toEqual(captured.listen.routerRtpCapabilities);
    expect(offer.consumers).toEqual(captured.listen.consumers);
    expect(offer.tracks).toEqual(captured.listen.tracks);
    expect(offer.consumers.map((c) => [c.rtpParameters.mid, c.userId])).toEqual(offer.tracks.map((t) => [t.mid, t.user_id]));
    const next = parseOffer(captured.producers, 'x') as MediasoupOffer;
    expect([next.revision, next.transport.id, next.consumers.map((c) => c.userId)]).toEqual([2, offer.transport.id, ['222222222222222222']]);
  });

  it('refuses an offer of a kind it does not know, saying which kinds it takes', () => {
    const error = parseError({ kind: 'livekit', token: 't' });
    expect(error.code).toBe('unsupported_offer');
    expect(error.retryable).toBe(false);
    expect(error.message).toBe('/api/sfu/listen answered with an offer of kind "livekit"; this console takes sdp or mediasoup');
  });

  it('refuses a mediasoup offer whose parts are missing or disagree, naming the part', () => {
    const bad = (change: (o: typeof captured.listen) => void): string => {
      const o = clone(captured.listen);
      change(o);
      return parseError(o).message;
    };
    expect(bad((o) => ((o as { revision: unknown }).revision = 1.5))).toMatch(/revision/);
    expect(bad((o) => ((o.transport as { id: unknown }).id = ''))).toMatch(/transport has no id/);
    expect(bad((o) => ((o.transport as { iceCandidates: unknown }).iceCandidates = 'x'))).toMatch(/iceCandidates/);
    expect(bad((o) => delete (o.consumers[1]!.rtpParameters as { mid?: unknown }).mid)).toMatch(/consumer 1 has no rtpParameters.mid/);
    expect(bad((o) => ((o.consumers[0] as { kind: string }).kind = 'video'))).toMatch(/consumer 0 is not audio/);
    expect(bad((o) => o.tracks.pop())).toMatch(/2 consumers do not match its 1 tracks/);
    expect(bad((o) => o.tracks.reverse())).toMatch(/consumer 0 \(mid 0, user 111111111111111111\) is not track 0 \(mid 1/);
    expect(bad((o) => (o.consumers[1]!.id = o.consumers[0]!.id))).toMatch(/consumer ids repeat/);
  });
});

describe('answerBody', () => {
  it('sends { sdp } for an SDP answer, as before the mediasoup driver', () => {
    expect(answerBody({ kind: 'sdp', sdp: 'v=0' })).toEqual({ sdp: 'v=0' });
  });

  it('sends kind, revision, rtpCapabilities and dtlsParameters for a mediasoup answer; dtlsParameters only when known', () => {
    const dtls = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AA' }] };
    expect(answerBody({ kind: 'mediasoup', revision: 3, rtpCapabilities: { codecs: [] }, dtlsParameters: dtls })).toEqual({ kind: 'mediasoup', revision: 3, rtpCapabilities: { codecs: [] }, dtlsParameters: dtls });
    expect(answerBody({ kind: 'mediasoup', revision: 4, rtpCapabilities: {} })).toEqual({ kind: 'mediasoup', revision: 4, rtpCapabilities: {} });
  });
});
