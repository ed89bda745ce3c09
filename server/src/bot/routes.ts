/**
 * The console's bot controls over HTTP.
 *
 * Kill switch and "say this" (the same grant check as a session's publish on the bus, `publishRefusal`;
 * on record before the bot is asked, `auditBotAction`):
 *
 * - `POST /api/bot/stop` `{ session_id, lane? }` → 202: `voice.play.stop` for the voice session (owners
 *   and moderators whose scope covers it): the mixer drops what plays and what waits.
 * - `POST /api/bot/say` `{ session_id, text }` → 202 `{ segment_id }`: a `duck.reply.message` with
 *   `speak: true` from `client:<session id>` (owners only; one line of at most 300 characters).
 *
 * Brain switches (owners only, within their guild scope):
 *
 * - `GET /api/bot/brains?guild_id=G[&provider=discord]` → `{ provider, guild_id, brains: { voice, social } }`,
 *   each `{ enabled, updated_by, updated_at }` as an owner last set it, or `null` when nobody has:
 *   then cephalon.yml decides (off unless it says on).
 * - `PUT /api/bot/brains` `{ guild_id, brain: 'voice' | 'social', enabled, provider? }` → 200 with the
 *   stored switch, after it is on record (`bot.brain.set`) and announced to the workers.
 */
import { randomBytes } from 'node:crypto';
import type { Hono } from 'hono';
import { z } from 'zod';
import { BrainName, ID_TOKEN_RE, makeEnvelope, PrometheanError, type Envelope } from '@promethean/shared';
import { publishRefusal } from '../hub/auth.ts';
import type { HubEnv, HubMountContext, Principal } from '../hub/index.ts';
import type { VoiceSessionInfo } from '../listen/streams.ts';
import { jsonBody } from '../web/json-body.ts';
import { auditBotAction, type BotAuditLog } from './audit.ts';
import type { BrainSwitchboard } from './brains.ts';

/** What the kill switch and "say this" need of the server. */
export interface BotActionDeps {
  /** The server's own bus (undefined while it starts). */
  bus: () => { publish(envelope: Envelope): unknown } | undefined;
  audit: BotAuditLog;
  /** Where a voice session is (the relay's announcement); undefined when unknown. */
  voiceSession: (sessionId: string) => VoiceSessionInfo | undefined;
}

const SessionId = z.string().min(1).max(128);
const StopBody = z.strictObject({ session_id: SessionId, lane: z.enum(['main', 'background']).optional() });
// The text's own rules (one line, 300 characters) are ConsoleSayLine's, checked with the grant.
const SayBody = z.strictObject({ session_id: SessionId, text: z.string().max(4000) });

const Snowflake = z.string().regex(/^\d{1,20}$/, 'must be a Discord id');
const Provider = z.string().regex(ID_TOKEN_RE, 'must be a [a-z0-9_-] token').max(64).default('discord');
const PutBody = z.strictObject({ guild_id: Snowflake, brain: BrainName, enabled: z.boolean(), provider: Provider });

function ownerOf(p: Principal | undefined, guild: string): Principal & { tenant: string } {
  if (!p) throw new PrometheanError('unauthenticated', 'sign in first: open the login link printed by promethean start');
  if (p.tenant === null) throw new PrometheanError('forbidden', 'a browser session is needed');
  if (p.role !== 'owner') throw new PrometheanError('forbidden', 'only an owner may see or turn the brains on or off');
  if (p.guild !== undefined && p.guild !== guild) throw new PrometheanError('forbidden', `this session is limited to guild ${p.guild}`);
  return p as Principal & { tenant: string };
}

export function mountBotRoutes(app: Hono<HubEnv>, ctx: HubMountContext, deps: { brains: () => BrainSwitchboard | undefined } & BotActionDeps): void {
  /** Checks the grant as the hub would for the session's own publish, records it, then asks the bot. */
  const act = async (principal: Principal | undefined, intent: 'voice.play.stop' | 'duck.reply.message', sessionId: string, payload: Record<string, unknown>): Promise<Envelope> => {
    if (!principal) throw new PrometheanError('unauthenticated', 'sign in first: open the login link printed by promethean start');
    if (principal.tenant === null || principal.sid === undefined) throw new PrometheanError('forbidden', 'a browser session is needed');
    const tenant = principal.tenant;
    const known = deps.voiceSession(sessionId);
    const where = known && known.tenant === tenant ? { guild: known.guildId, channel: known.channelId } : undefined;
    const env = makeEnvelope(intent, payload as never, { src: `client:${principal.sid}`, provider: known?.provider ?? 'discord', tenant });
    const refusal = publishRefusal(principal, env, (id) => (id === sessionId ? where : undefined));
    if (refusal) throw new PrometheanError(refusal.code, refusal.message, refusal.path !== undefined ? { path: refusal.path } : undefined);
    const bus = deps.bus();
    if (!bus) throw new PrometheanError('unavailable', 'the server is starting; try again');
    try {
      await auditBotAction(deps.audit, principal, env, where);
    } catch (cause) {
      throw new PrometheanError('unavailable', `this ${intent} could not be written to the audit log, so the bot was not asked; try again`, { cause });
    }
    bus.publish(env);
    return env;
  };

  app.post('/api/bot/stop', async (c) => {
    const body = await jsonBody(c, StopBody);
    const p = await ctx.authenticateRequest(c);
    await act(p, 'voice.play.stop', body.session_id, { session_id: body.session_id, ...(body.lane ? { lane: body.lane } : {}), reason: 'silenced from the console' });
    return c.json({ stopped: body.session_id }, 202);
  });

  app.post('/api/bot/say', async (c) => {
    const body = await jsonBody(c, SayBody);
    const p = await ctx.authenticateRequest(c);
    const segmentId = `say:${randomBytes(12).toString('base64url')}`;
    await act(p, 'duck.reply.message', body.session_id, { session_id: body.session_id, segment_id: segmentId, text: body.text.trim(), latency_ms: 0, speak: true });
    return c.json({ segment_id: segmentId }, 202);
  });

  const board = (): BrainSwitchboard => {
    const b = deps.brains();
    if (!b) throw new PrometheanError('unavailable', 'the server is starting; try again');
    return b;
  };

  app.get('/api/bot/brains', async (c) => {
    const guild = c.req.query('guild_id') ?? '';
    if (!/^\d{1,20}$/.test(guild)) throw new PrometheanError('schema', 'guild_id: must be a Discord id', { path: 'guild_id' });
    const provider = Provider.safeParse(c.req.query('provider'));
    if (!provider.success) throw new PrometheanError('schema', 'provider: must be a [a-z0-9_-] token', { path: 'provider' });
    const p = ownerOf(await ctx.authenticateRequest(c), guild);
    const rows = await board().list(provider.data, p.tenant, guild);
    const of = (brain: BrainName) => {
      const r = rows.find((x) => x.brain === brain);
      return r ? { enabled: r.enabled, updated_by: r.updated_by, updated_at: r.updated_at } : null;
    };
    return c.json({ provider: provider.data, guild_id: guild, brains: { voice: of('voice'), social: of('social') } });
  });

  app.put('/api/bot/brains', async (c) => {
    const body = await jsonBody(c, PutBody);
    const p = ownerOf(await ctx.authenticateRequest(c), body.guild_id);
    const row = await board().set(p, { provider: body.provider, guild_id: body.guild_id, brain: body.brain, enabled: body.enabled });
    return c.json({ provider: row.provider, guild_id: row.guild_id, brain: row.brain, enabled: row.enabled, updated_by: row.updated_by, updated_at: row.updated_at });
  });
}
