/**
 * HTTP signalling for listening (the server offers, the browser answers; non-trickle ICE):
 *
 * - `POST /api/sfu/listen` `{ session_id, user_ids }` → `{ listener_id, kind, sdp, tracks, skipped }`
 * - `POST /api/sfu/listeners/:id/answer` `{ sdp }` (werift) or `{ kind: 'mediasoup', revision, rtpCapabilities, dtlsParameters? }` → 204
 * - `POST /api/sfu/listeners/:id/producers` `{ user_ids }` → `{ kind, sdp, tracks, skipped }` (renegotiation)
 * - `DELETE /api/sfu/listeners/:id` → 204
 *
 * Every route needs a principal (the session cookie from the hub's own origin, or a bearer token);
 * errors are `{ error: { code, message } }` with 400/401/403/404/409/413/429/503. Offer/answer is a
 * request and its response, so it rides HTTP rather than the bus: no other client of the tenant can
 * see a peer's ICE credentials.
 */
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { jsonBody } from '../web/json-body.ts';
import { PrometheanError } from '@promethean/shared';
import type { HubEnv, HubMountContext, Principal } from '../hub/index.ts';
import type { SfuOffer } from '../sfu/index.ts';
import type { ListenService } from './service.ts';

const Id = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'must be an id');
const ListenBody = z.object({ session_id: Id, user_ids: z.array(Id).max(64).default([]) });
/** `{ sdp }` answers an SDP offer (werift); `{ kind: 'mediasoup', … }` a mediasoup-client one. */
const AnswerBody = z.union([
  z.object({ kind: z.literal('sdp').optional(), sdp: z.string().min(10).max(64 * 1024) }),
  z.object({
    kind: z.literal('mediasoup'),
    revision: z.number().int().min(0),
    rtpCapabilities: z.record(z.string(), z.unknown()),
    dtlsParameters: z.record(z.string(), z.unknown()).optional(),
  }),
]);
const ProducersBody = z.object({ user_ids: z.array(Id).max(64) });

function offerJson(offer: SfuOffer) {
  const tracks = offer.tracks.map((t) => ({ mid: t.mid, producer_id: t.producerId, user_id: t.userId }));
  if (offer.kind === 'sdp') return { kind: offer.kind, sdp: offer.sdp, tracks, skipped: offer.skipped };
  // mediasoup-client's parameters, passed through as the driver made them.
  return { kind: offer.kind, revision: offer.revision, routerRtpCapabilities: offer.routerRtpCapabilities, transport: offer.transport, consumers: offer.consumers, tracks, skipped: offer.skipped };
}

export function mountListenRoutes(app: Hono<HubEnv>, ctx: HubMountContext, service: ListenService): void {
  const limit = bodyLimit({
    maxSize: 96 * 1024,
    onError: (c) => c.json({ error: { code: 'oversize', message: 'request body over 96 KiB' } }, 413),
  });
  const who = async (c: Context): Promise<Principal> => {
    const principal = await ctx.authenticateRequest(c);
    if (!principal) throw new PrometheanError('unauthenticated', 'sign in first: open the login link printed by promethean start');
    return principal;
  };
  app.post('/api/sfu/listen', limit, async (c) => {
    const principal = await who(c);
    const b = await jsonBody(c, ListenBody);
    const { listener_id, offer } = await service.listen(principal, b.session_id, b.user_ids);
    return c.json({ listener_id, ...offerJson(offer) });
  });
  app.post('/api/sfu/listeners/:id/answer', limit, async (c) => {
    const principal = await who(c);
    const b = await jsonBody(c, AnswerBody);
    await service.answer(principal, c.req.param('id'), 'sdp' in b ? { kind: 'sdp', sdp: b.sdp } : { kind: 'mediasoup', revision: b.revision, rtpCapabilities: b.rtpCapabilities, ...(b.dtlsParameters ? { dtlsParameters: b.dtlsParameters } : {}) });
    return c.body(null, 204);
  });
  app.post('/api/sfu/listeners/:id/producers', limit, async (c) => {
    const principal = await who(c);
    const b = await jsonBody(c, ProducersBody);
    return c.json(offerJson(await service.update(principal, c.req.param('id'), b.user_ids)));
  });
  app.delete('/api/sfu/listeners/:id', async (c) => {
    const principal = await who(c);
    await service.stop(principal, c.req.param('id'));
    return c.body(null, 204);
  });
}
