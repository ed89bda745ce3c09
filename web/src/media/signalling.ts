/**
 * The SFU's HTTP signalling (the server offers, the page answers, non-trickle ICE):
 *   POST   /api/sfu/listen                    { session_id, user_ids } → { listener_id, ...offer }
 *   POST   /api/sfu/listeners/:id/answer      answer                   → 204
 *   POST   /api/sfu/listeners/:id/producers   { user_ids }             → offer
 *   DELETE /api/sfu/listeners/:id                                      → 204
 * An offer is an SDP offer (`kind: 'sdp'`, werift) or mediasoup-client's parameters
 * (`kind: 'mediasoup'`); see `offer.ts`. The SFU answers `tracks` with every track the connection now
 * carries; a wanted speaker without a producer yet is left out (`skipped`), so the listener asks again
 * later. An answer to an offer that a newer one replaced is refused with 409.
 */
import { ApiError } from '../errors.ts';
import { requestJson, type FetchLike } from '../net/http.ts';
import { answerBody, parseOffer, type ListenOffer, type MediaAnswer, type SfuOffer } from './offer.ts';

/** What the listener needs from signalling; tests pass their own. */
export interface SfuSignalling {
  listen(session_id: string, user_ids: string[], signal?: AbortSignal): Promise<ListenOffer>;
  answer(listener_id: string, answer: MediaAnswer, signal?: AbortSignal): Promise<void>;
  producers(listener_id: string, user_ids: string[], signal?: AbortSignal): Promise<SfuOffer>;
  remove(listener_id: string): Promise<void>;
}

export function httpSignalling(fetchFn: FetchLike): SfuSignalling {
  const listener = (id: string) => `/api/sfu/listeners/${encodeURIComponent(id)}`;
  return {
    async listen(session_id, user_ids, signal) {
      const path = '/api/sfu/listen';
      const body = await requestJson<unknown>(fetchFn, path, { method: 'POST', body: { session_id, user_ids }, ...(signal ? { signal } : {}) });
      const id = (body as { listener_id?: unknown } | undefined)?.listener_id;
      if (typeof id !== 'string' || id.length === 0) throw new ApiError(200, 'bad_response', `${path} answered without a listener_id`);
      return { ...parseOffer(body, path), listener_id: id };
    },
    async answer(listener_id, answer, signal) {
      await requestJson(fetchFn, `${listener(listener_id)}/answer`, { method: 'POST', body: answerBody(answer), ...(signal ? { signal } : {}) });
    },
    async producers(listener_id, user_ids, signal) {
      const path = `${listener(listener_id)}/producers`;
      return parseOffer(await requestJson<unknown>(fetchFn, path, { method: 'POST', body: { user_ids }, ...(signal ? { signal } : {}) }), path);
    },
    async remove(listener_id) {
      await requestJson(fetchFn, listener(listener_id), { method: 'DELETE', keepalive: true });
    },
  };
}
