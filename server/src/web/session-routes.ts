/**
 * Invitations and sessions, for owners (and the operator's hub key, which `promethean invite` uses):
 *
 * - `POST /api/invitations` `{ name, guild_id, channel_id?, role?, ttl_s? }` → `{ link, expires_at, session_ttl_s }`:
 *   a one-time login link (valid 10 minutes) for a named person, limited to a guild (and channel);
 *   the session it becomes lasts `ttl_s` (default 8 h). On record before the link is handed out.
 * - `GET /api/sessions` → the tenant's live sessions (id, role, name, scope, times); an owner limited
 *   to a guild sees that guild's.
 * - `DELETE /api/sessions/:sid` → revoked at once: its sockets and listeners are closed. On record.
 */
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { jsonBody } from './json-body.ts';
import { PrometheanError } from '@promethean/shared';
import type { Hub, HubEnv, HubMountContext, Principal } from '../hub/index.ts';
import type { ListenService } from '../listen/service.ts';
import type { Store } from '../store/index.ts';

const Snowflake = z.string().regex(/^\d{1,20}$/, 'must be a Discord id');
const InviteBody = z.object({
  name: z.string().trim().min(1).max(200),
  guild_id: Snowflake,
  channel_id: Snowflake.optional(),
  role: z.enum(['moderator', 'owner']).default('moderator'),
  ttl_s: z.number().int().min(60).max(30 * 24 * 3600).default(8 * 3600),
  tenant: z.string().regex(/^[a-z0-9_-]{1,64}$/).optional(),
});

export interface SessionRoutesDeps {
  store: Store;
  hub: () => Hub;
  listen: ListenService;
  /** Where browsers reach the hub (the link's origin). */
  publicBase: () => string;
  defaultTenant: string;
}

/** An owner of the tenant (whose guild scope, if any, covers `guild`), or the hub key. */
function ownerOf(p: Principal | undefined, tenant: string, guild?: string): void {
  if (!p) throw new PrometheanError('unauthenticated', 'sign in first: open the login link printed by promethean start');
  if (p.role === 'agent' && p.agent === undefined) return; // the operator
  if (p.role !== 'owner' || p.tenant !== tenant) throw new PrometheanError('forbidden', 'only an owner of this tenant may do that');
  if (guild !== undefined && p.guild !== undefined && p.guild !== guild) throw new PrometheanError('forbidden', `this owner is limited to guild ${p.guild}`);
}

const actorOf = (p: Principal) => (p.sid ? `session:${p.sid}` : p.agent ? `agent:${p.agent}` : 'operator');

export function mountSessionRoutes(app: Hono<HubEnv>, ctx: HubMountContext, deps: SessionRoutesDeps): void {
  app.post('/api/invitations', async (c) => {
    const principal = await ctx.authenticateRequest(c);
    const b = await jsonBody(c, InviteBody);
    const tenant = principal?.tenant ?? b.tenant ?? deps.defaultTenant;
    ownerOf(principal, tenant, b.guild_id);
    if (principal!.channel !== undefined && b.channel_id !== principal!.channel) throw new PrometheanError('forbidden', `this owner is limited to channel ${principal!.channel}`);
    // On record before the link exists: no record, no invitation.
    await deps.store.appendAudit({
      provider: 'discord',
      tenant,
      guild_id: b.guild_id,
      channel_id: b.channel_id ?? null,
      actor: actorOf(principal!),
      action: 'invite',
      detail: JSON.stringify({ name: b.name, role: b.role, session_ttl_s: b.ttl_s }),
    }).catch((cause: unknown) => {
      throw new PrometheanError('unavailable', 'the invitation could not be written to the audit log, so it is refused', { cause });
    });
    const issued = deps.hub().issueInvitation({ tenant, guild: b.guild_id, ...(b.channel_id ? { channel: b.channel_id } : {}), role: b.role, name: b.name, sessionTtlMs: b.ttl_s * 1000 });
    await issued.saved;
    return c.json({ link: `${deps.publicBase()}/login#token=${issued.token}`, expires_at: issued.expires_at, session_ttl_s: b.ttl_s });
  });

  app.get('/api/sessions', async (c) => {
    const principal = await ctx.authenticateRequest(c);
    const tenant = principal?.tenant ?? c.req.query('tenant') ?? deps.defaultTenant;
    ownerOf(principal, tenant);
    const rows = await deps.store.listSessions(tenant);
    const sessions = rows
      .map((r) => ({ sid: r.token_hash.slice(0, 16), role: r.role, name: r.label, guild: r.scope[0]?.guild_id ?? null, channel: r.scope[0]?.channel_id ?? null, created_at: r.created_at, expires_at: r.expires_at, current: r.token_hash.slice(0, 16) === principal!.sid }))
      .filter((x) => principal!.guild === undefined || x.guild === principal!.guild);
    return c.json({ sessions });
  });

  app.delete('/api/sessions/:sid', async (c) => {
    const principal = await ctx.authenticateRequest(c);
    const tenant = principal?.tenant ?? c.req.query('tenant') ?? deps.defaultTenant;
    ownerOf(principal, tenant);
    const sid = c.req.param('sid');
    const row = /^[0-9a-f]{16}$/.test(sid) ? (await deps.store.listSessions(tenant)).find((r) => r.token_hash.startsWith(sid)) : undefined;
    if (!row || (principal!.guild !== undefined && row.scope[0]?.guild_id !== principal!.guild)) throw new PrometheanError('not_found', `no live session ${sid}`);
    await deps.store.revokeToken(row.token_hash);
    const sockets = deps.hub().revokeSessionHash(row.token_hash);
    const listeners = await deps.listen.stopOwner(`session:${sid}`, 'session revoked');
    await deps.store.appendAudit({
      provider: 'discord',
      tenant,
      guild_id: row.scope[0]?.guild_id ?? null,
      channel_id: row.scope[0]?.channel_id ?? null,
      actor: actorOf(principal!),
      action: 'session.revoke',
      detail: JSON.stringify({ sid, name: row.label, sockets, listeners }),
    });
    return c.json({ revoked: sid, sockets, listeners });
  });
}
