/**
 * Evidence clips and the per-guild replay switches (the console exports; the server only records):
 *
 * - `POST /api/evidence` `{ session_id, guild_id, channel_id, user_id, speaker_name, start_ns, end_ns,
 *   utc_start, utc_end, sha256, bytes, format, transcript_lines? }` → 201 `{ audit_id, seq, exported_by, recorded_at }`:
 *   the export goes on the audit log (`evidence.export`, the clip's sha256 in its detail) before the
 *   page offers the file, so a clip can later be checked against the log. The clip itself never
 *   reaches the server.
 * - `GET /api/evidence/policy?guild_id=G` → `{ guild_id, replay, export }` (any session whose scope
 *   covers the guild)
 * - `PUT /api/evidence/policy` `{ guild_id, replay, export }` → the new policy (owners only, on record)
 *
 * Scope as for listening: an owner or moderator of the tenant, within its guild and channel limits.
 * An export the guild's policy forbids gets 403 `export_disabled`.
 */
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { PrometheanError } from '@promethean/shared';
import type { HubEnv, HubMountContext, Principal } from '../hub/index.ts';
import { principalKey } from '../listen/service.ts';
import type { RelayStreams } from '../listen/streams.ts';
import { jsonBody } from '../web/json-body.ts';
import type { EvidencePolicies, PolicyAuditLog } from './policy.ts';

const Snowflake = z.string().regex(/^\d{1,20}$/, 'must be a Discord id');
const Ns = z.string().regex(/^\d{1,20}$/, 'must be nanoseconds as a decimal string');
const Utc = z.iso.datetime({ offset: false });
const ExportBody = z
  .object({
    session_id: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'must be an id'),
    guild_id: Snowflake,
    channel_id: Snowflake,
    user_id: Snowflake,
    speaker_name: z.string().min(1).max(200),
    start_ns: Ns,
    end_ns: Ns,
    utc_start: Utc,
    utc_end: Utc,
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
    bytes: z.number().int().min(44).max(512 * 1024 * 1024),
    format: z.enum(['wav', 'ogg-opus']),
    /** How many transcript lines the clip's sidecar carries (on record with the export). */
    transcript_lines: z.number().int().min(0).max(1000).optional(),
  })
  .refine((b) => BigInt(b.end_ns) > BigInt(b.start_ns), { message: 'end_ns must be after start_ns', path: ['end_ns'] });
const PolicyBody = z.object({ guild_id: Snowflake, replay: z.boolean(), export: z.boolean() });

export interface EvidenceDeps {
  policies: EvidencePolicies;
  store: PolicyAuditLog;
  streams: RelayStreams;
}

function scoped(p: Principal | undefined, guild: string, channel?: string): Principal & { tenant: string } {
  if (!p) throw new PrometheanError('unauthenticated', 'sign in first: open the login link printed by promethean start');
  if (p.role !== 'owner' && p.role !== 'moderator') throw new PrometheanError('forbidden', 'a moderator or owner session is needed');
  if (p.tenant === null) throw new PrometheanError('forbidden', 'a browser session is needed');
  if (p.guild !== undefined && p.guild !== guild) throw new PrometheanError('forbidden', `this session is limited to guild ${p.guild}`);
  if (channel !== undefined && p.channel !== undefined && p.channel !== channel) throw new PrometheanError('forbidden', `this session is limited to channel ${p.channel}`);
  return p as Principal & { tenant: string };
}

export function mountEvidenceRoutes(app: Hono<HubEnv>, ctx: HubMountContext, deps: EvidenceDeps): void {
  const limit = bodyLimit({ maxSize: 8 * 1024, onError: (c) => c.json({ error: { code: 'oversize', message: 'request body over 8 KiB' } }, 413) });
  const who = async (c: Context) => ctx.authenticateRequest(c);

  app.post('/api/evidence', limit, async (c) => {
    const principal = await who(c);
    const b = await jsonBody(c, ExportBody);
    const p = scoped(principal, b.guild_id, b.channel_id);
    // A live session must be the guild and channel the clip claims.
    const info = deps.streams.session(b.session_id);
    if (info && (info.tenant !== p.tenant || info.guildId !== b.guild_id || info.channelId !== b.channel_id)) {
      throw new PrometheanError('forbidden', `session ${b.session_id} is not in guild ${b.guild_id} channel ${b.channel_id} of this tenant`);
    }
    const provider = info?.provider ?? 'discord';
    const policy = await deps.policies.get(provider, p.tenant, b.guild_id);
    if (!policy.export) return c.json({ error: { code: 'export_disabled', message: 'an owner turned evidence export off for this guild' } }, 403);
    const actor = principalKey(p);
    const row = await deps.store.appendAudit({
      provider,
      tenant: p.tenant,
      guild_id: b.guild_id,
      channel_id: b.channel_id,
      actor,
      action: 'evidence.export',
      detail: JSON.stringify({ ...b, role: p.role, ...(p.name ? { name: p.name } : {}) }),
    });
    return c.json({ audit_id: row.id, seq: row.seq, recorded_at: row.at, exported_by: { actor, role: p.role, ...(p.name ? { name: p.name } : {}) } }, 201);
  });

  app.get('/api/evidence/policy', async (c) => {
    const guild = c.req.query('guild_id') ?? '';
    if (!/^\d{1,20}$/.test(guild)) throw new PrometheanError('schema', 'guild_id: must be a Discord id');
    const p = scoped(await who(c), guild);
    return c.json({ guild_id: guild, ...(await deps.policies.get('discord', p.tenant, guild)) });
  });

  app.put('/api/evidence/policy', limit, async (c) => {
    const principal = await who(c);
    const b = await jsonBody(c, PolicyBody);
    const p = scoped(principal, b.guild_id);
    if (p.role !== 'owner') throw new PrometheanError('forbidden', 'only an owner may turn replay or export on or off');
    const policy = await deps.policies.set('discord', p.tenant, b.guild_id, principalKey(p), { replay: b.replay, export: b.export }, { role: p.role });
    return c.json({ guild_id: b.guild_id, ...policy });
  });
}
