/**
 * `GET /api/audit?provider=&action=&limit=&after=`: the tenant's audit log for its owners (newest
 * last), so the console can show who listened to what. Moderators get 403.
 */
import type { Hono } from 'hono';
import { z } from 'zod';
import { PrometheanError } from '@promethean/shared';
import type { HubEnv, HubMountContext } from '../hub/index.ts';
import type { Store } from '../store/index.ts';

const Query = z.object({
  provider: z.string().regex(/^[a-z0-9_-]{1,64}$/).default('discord'),
  action: z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
  after: z.string().regex(/^\d{1,19}$/).optional(),
});

export function mountAuditRoutes(app: Hono<HubEnv>, ctx: HubMountContext, store: Store): void {
  app.get('/api/audit', async (c) => {
    const principal = await ctx.authenticateRequest(c);
    if (!principal) throw new PrometheanError('unauthenticated', 'sign in first: open the login link printed by promethean start');
    if (principal.role !== 'owner' || principal.tenant === null) throw new PrometheanError('forbidden', 'only a tenant owner reads the audit log');
    const r = Query.safeParse(c.req.query());
    if (!r.success) throw new PrometheanError('schema', `${r.error.issues[0]!.path.join('.')}: ${r.error.issues[0]!.message}`);
    const q = r.data;
    const rows = await store.listAudit({ provider: q.provider, tenant: principal.tenant, limit: q.limit, ...(q.after ? { after_id: q.after } : {}) });
    // An owner limited to a guild (or channel) reads that guild's (or channel's) rows only.
    const visible = rows.filter(
      (x) => (principal.guild === undefined || x.guild_id === principal.guild) && (principal.channel === undefined || x.channel_id === principal.channel) && (q.action === undefined || x.action === q.action),
    );
    return c.json({ rows: visible });
  });
}
