/**
 * The SFU's HTTP signalling (server offers, the page answers, non-trickle ICE):
 *   POST   /api/sfu/listen                    { session_id, user_ids } → { listener_id, kind, sdp, tracks }
 *   POST   /api/sfu/listeners/:id/answer      { sdp }                  → 204
 *   POST   /api/sfu/listeners/:id/producers   { user_ids }             → { kind, sdp, tracks }
 *   DELETE /api/sfu/listeners/:id                                      → 204
 * The SFU answers `tracks` with every track the connection now carries (one per active m-line); a
 * wanted speaker without a producer yet is left out (`skipped`), so the listener asks again later.
 */
import { ApiError } from '../errors.ts';
import { requestJson, type FetchLike } from '../net/http.ts';
import { parseOfferedTracks, type OfferedTrack } from './mids.ts';

export interface SfuOffer {
  sdp: string;
  tracks: OfferedTrack[];
}

export interface ListenOffer extends SfuOffer {
  listener_id: string;
}

/** What the listener needs from signalling; tests pass their own. */
export interface SfuSignalling {
  listen(session_id: string, user_ids: string[], signal?: AbortSignal): Promise<ListenOffer>;
  answer(listener_id: string, sdp: string, signal?: AbortSignal): Promise<void>;
  producers(listener_id: string, user_ids: string[], signal?: AbortSignal): Promise<SfuOffer>;
  remove(listener_id: string): Promise<void>;
}

function parseOffer(body: unknown, path: string): SfuOffer {
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b.sdp !== 'string' || (b.kind !== undefined && b.kind !== 'sdp')) {
    throw new ApiError(200, 'bad_response', `${path} did not answer with an SDP offer`);
  }
  return { sdp: b.sdp, tracks: parseOfferedTracks(b.tracks) };
}

export function httpSignalling(fetchFn: FetchLike): SfuSignalling {
  const listener = (id: string) => `/api/sfu/listeners/${encodeURIComponent(id)}`;
  return {
    async listen(session_id, user_ids, signal) {
      const path = '/api/sfu/listen';
      const body = await requestJson<unknown>(fetchFn, path, { method: 'POST', body: { session_id, user_ids }, ...(signal ? { signal } : {}) });
      const id = (body as { listener_id?: unknown } | undefined)?.listener_id;
      if (typeof id !== 'string' || id.length === 0) throw new ApiError(200, 'bad_response', `${path} answered without a listener_id`);
      return { listener_id: id, ...parseOffer(body, path) };
    },
    async answer(listener_id, sdp, signal) {
      await requestJson(fetchFn, `${listener(listener_id)}/answer`, { method: 'POST', body: { sdp }, ...(signal ? { signal } : {}) });
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
