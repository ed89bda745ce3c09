/**
 * Steering the bot from the console (owners) and the guilds' voice channels:
 *
 * - `GET /api/voice/channels?guild_id=G` → `{ guild_id, guild_name?, bot_channel_id, channels: [{ channel_id, name, allowed }] }`
 *   (the latest `voice.channels` of the guild; any session of the tenant whose scope covers it)
 * - `POST /api/voice/join` `{ guild_id, channel_id }` → 202: the bot joins, or moves to, that channel
 * - `POST /api/voice/leave` `{ guild_id }` → 202: the bot leaves the guild's voice channel
 *
 * Join and leave are for owners (within their guild scope) and go on record before the bot is asked.
 */
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { jsonBody } from './json-body.ts';
import { PrometheanError, makeEnvelope, type BusClient, type PayloadOf } from '@promethean/shared';
import type { HubEnv, HubMountContext, Principal } from '../hub/index.ts';
import type { Store } from '../store/index.ts';

const Snowflake = z.string().regex(/^\d{1,20}$/, 'must be a Discord id');
const JoinBody = z.object({ guild_id: Snowflake, channel_id: Snowflake });
const LeaveBody = z.object({ guild_id: Snowflake });

/** The latest `voice.channels` per (tenant, guild), bounded. */
export class VoiceChannelsCache {
  readonly #byKey = new Map<string, PayloadOf<'voice.channels'>>();
  readonly max: number;
  constructor(max = 1000) {
    this.max = max;
  }
  set(tenant: string, p: PayloadOf<'voice.channels'>): void {
    const key = `${tenant}/${p.guild_id}`;
    this.#byKey.delete(key);
    if (this.#byKey.size >= this.max) {
      const oldest = this.#byKey.keys().next().value;
      if (oldest !== undefined) this.#byKey.delete(oldest);
    }
    this.#byKey.set(key, p);
  }
  get(tenant: string, guildId: string): PayloadOf<'voice.channels'> | undefined {
    return this.#byKey.get(`${tenant}/${guildId}`);
  }
}

function sessionFor(p: Principal | undefined, guild: string): Principal & { tenant: string } {
  if (!p) throw new PrometheanError('unauthenticated', 'sign in first: open the login link printed by promethean start');
  if (p.tenant === null) throw new PrometheanError('forbidden', 'a browser session is needed');
  if (p.guild !== undefined && p.guild !== guild) throw new PrometheanError('forbidden', `this session is limited to guild ${p.guild}`);
  return p as Principal & { tenant: string };
}

export function mountVoiceRoutes(app: Hono<HubEnv>, ctx: HubMountContext, deps: { store: Store; bus: () => BusClient | undefined; channels: VoiceChannelsCache }): void {
  app.get('/api/voice/channels', async (c) => {
    const guild = c.req.query('guild_id') ?? '';
    if (!/^\d{1,20}$/.test(guild)) throw new PrometheanError('schema', 'guild_id: must be a Discord id');
    const p = sessionFor(await ctx.authenticateRequest(c), guild);
    const known = deps.channels.get(p.tenant, guild);
    if (!known) throw new PrometheanError('not_found', `no voice channels known for guild ${guild} yet`);
    // A session limited to one channel sees only that channel.
    return c.json(p.channel === undefined ? known : { ...known, channels: known.channels.filter((x) => x.channel_id === p.channel) });
  });

  const steer = async (c: Context, intent: 'voice.control.join' | 'voice.control.leave', guild: string, channel: string | undefined) => {
    const p = sessionFor(await ctx.authenticateRequest(c), guild);
    if (p.role !== 'owner') throw new PrometheanError('forbidden', 'only an owner may make the bot join, move or leave');
    if (channel !== undefined && p.channel !== undefined && p.channel !== channel) throw new PrometheanError('forbidden', `this session is limited to channel ${p.channel}`);
    const bus = deps.bus();
    if (!bus) throw new PrometheanError('unavailable', 'the server is starting; try again');
    await deps.store.appendAudit({
      provider: 'discord',
      tenant: p.tenant,
      guild_id: guild,
      channel_id: channel ?? null,
      actor: p.sid ? `session:${p.sid}` : p.role,
      action: intent === 'voice.control.join' ? 'voice.join' : 'voice.leave',
      detail: JSON.stringify({ role: p.role, ...(p.name ? { name: p.name } : {}) }),
    });
    const payload = intent === 'voice.control.join' ? { guild_id: guild, channel_id: channel!, prefer_opus: true, self_mute: false, self_deaf: false } : { guild_id: guild };
    bus.publish(makeEnvelope(intent, payload as never, { src: 'server', provider: 'discord', tenant: p.tenant }));
    return c.json({ asked: intent === 'voice.control.join' ? 'join' : 'leave', guild_id: guild, ...(channel ? { channel_id: channel } : {}) }, 202);
  };
  app.post('/api/voice/join', async (c) => {
    const b = await jsonBody(c, JoinBody);
    return steer(c, 'voice.control.join', b.guild_id, b.channel_id);
  });
  app.post('/api/voice/leave', async (c) => {
    const b = await jsonBody(c, LeaveBody);
    return steer(c, 'voice.control.leave', b.guild_id, undefined);
  });
}
