/**
 * Moderation over HTTP. Every route needs an owner or moderator session of the tenant; a session
 * limited to a guild (or channel) sees that guild's (or channel's) flags and rules only, and a flag
 * outside a session's scope answers 404 as if it did not exist.
 *
 * - `GET /api/flags?guild=&channel=&status=open|acknowledged|dismissed&before=&limit=&provider=` → `{ flags }`, newest first
 * - `GET /api/flags/:id` → the flag
 * - `GET /api/flags/:id/clip` → the clip as WAV (s16 mono), when the server kept it; on record (`moderation.flag.clip`)
 * - `GET /api/flags/:id/spectrogram` → the clip's log-mel spectrogram (`{ sample_rate, n_mels, n_frames, hop_ms, db }`); on record
 * - `POST /api/flags/:id/ack`, `POST /api/flags/:id/dismiss` (optional body `{ note }`) → `{ changed, flag }`;
 *   on record (`moderation.flag.ack` / `.dismiss`) and published again as `moderation.flag` with its new status
 * - `GET /api/moderation/rules?guild=` → `{ rules }` (config and stored, each with `source` and `quarantined`)
 * - `PUT /api/moderation/rules/:guild/:rule` `{ kind, pattern, label?, threshold?, enabled? }` (owners) →
 *   the rule; on record (`moderation.rule.put`, with the version it replaced)
 * - `DELETE /api/moderation/rules/:guild/:rule` (owners) → 204; on record (`moderation.rule.delete`)
 *
 * Rules from moderation.yml are read-only here (403): edit the file.
 */
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { PrometheanError, melSpectrogram } from '@promethean/shared';
import type { HubEnv, HubMountContext, Principal } from '../hub/index.ts';
import { principalKey } from '../listen/service.ts';
import { encodeWavS16 } from '../speech/wav.ts';
import type { ModerationFlagRow, Store } from '../store/index.ts';
import { jsonBody } from '../web/json-body.ts';
import { ModerationRuleError } from './errors.ts';
import { flagPayload } from './matcher.ts';
import type { RegexRunner } from './regex.ts';
import { definitionOf, type RuleBook } from './rulebook.ts';
import { RuleDefinitionSchema, compileRule, type CompiledRule } from './rules.ts';

export type ModerationRouteStore = Pick<
  Store,
  'listModerationFlags' | 'getModerationFlag' | 'decideModerationFlag' | 'getModerationFlagClip' | 'putModerationRule' | 'deleteModerationRule' | 'listModerationRules' | 'appendAudit'
>;

export interface ModerationRoutesDeps {
  store: ModerationRouteStore;
  rules: RuleBook;
  /** To show which regex rules are quarantined. */
  regex?: RegexRunner | undefined;
  /** Publishes a flag after a decision (the matcher's `publishFlag`). */
  publish?: ((flag: ModerationFlagRow) => void) | undefined;
}

export interface ModerationRoutesCounters {
  refused: number;
  decisions: number;
  ruleChanges: number;
}

const Provider = z.string().regex(/^[a-z0-9_-]{1,64}$/).default('discord');
const Snowflake = z.string().regex(/^\d{1,20}$/, 'must be a Discord id');
const FlagId = z.string().regex(/^[1-9][0-9]{0,18}$/, 'must be a flag id');
const RuleId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a rule id');
const FlagsQuery = z.strictObject({
  provider: Provider,
  guild: Snowflake.optional(),
  channel: Snowflake.optional(),
  status: z.enum(['open', 'acknowledged', 'dismissed']).optional(),
  before: FlagId.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
const ProviderQuery = z.strictObject({ provider: Provider });
const RulesQuery = z.strictObject({ provider: Provider, guild: Snowflake });
const DecisionBody = z.strictObject({ note: z.string().max(500).optional() });
/** The rule body: the definition without its id (the id is in the path). */
const RuleBody = z.strictObject({
  kind: z.enum(['phrase', 'regex', 'semantic']),
  label: z.string().min(1).max(200).optional(),
  pattern: z.string().min(1).max(2000),
  threshold: z.number().gt(0).max(1).optional(),
  enabled: z.boolean().default(true),
});

type Scoped = Principal & { tenant: string };

function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = issue.path.map(String).join('.');
  throw new PrometheanError('schema', `${path || what}: ${issue.message}`, { path });
}

/** What a rule looks like over HTTP. */
function ruleView(rule: CompiledRule, regex: RegexRunner | undefined, stored?: { updated_by: string; updated_at: string }) {
  return {
    guild_id: rule.guild_id,
    source: rule.source,
    ...rule.def,
    quarantined: regex?.isQuarantined(rule.key) ?? false,
    ...(stored ? { updated_by: stored.updated_by, updated_at: stored.updated_at } : {}),
  };
}

export function mountModerationRoutes(app: Hono<HubEnv>, ctx: HubMountContext, deps: ModerationRoutesDeps): ModerationRoutesCounters {
  const counters: ModerationRoutesCounters = { refused: 0, decisions: 0, ruleChanges: 0 };
  const refuse = (code: ConstructorParameters<typeof PrometheanError>[0], message: string) => {
    counters.refused++;
    return new PrometheanError(code, message);
  };
  const small = bodyLimit({ maxSize: 8 * 1024, onError: (c) => c.json({ error: { code: 'oversize', message: 'request body over 8 KiB' } }, 413) });

  const session = async (c: Context): Promise<Scoped> => {
    const p = await ctx.authenticateRequest(c);
    if (!p) throw refuse('unauthenticated', 'sign in first: open the login link printed by promethean start');
    if (p.role !== 'owner' && p.role !== 'moderator') throw refuse('forbidden', 'a moderator or owner session is needed');
    if (p.tenant === null) throw refuse('forbidden', 'a tenant session is needed');
    return p as Scoped;
  };
  const guildAllowed = (p: Scoped, guild: string) => p.guild === undefined || p.guild === guild;
  const requireGuild = (p: Scoped, guild: string) => {
    if (!guildAllowed(p, guild)) throw refuse('forbidden', `this session is limited to guild ${p.guild}`);
  };
  /** A flag the session may see, else not_found (no hint whether it exists elsewhere). */
  const visibleFlag = async (c: Context, p: Scoped): Promise<ModerationFlagRow> => {
    const id = parse(FlagId, c.req.param('id'), 'id');
    const { provider } = parse(ProviderQuery, c.req.query(), 'query');
    const flag = await deps.store.getModerationFlag({ provider, tenant: p.tenant, id });
    if (!flag || !guildAllowed(p, flag.guild_id) || (p.channel !== undefined && flag.channel_id !== p.channel)) throw refuse('not_found', `no flag ${id}`);
    return flag;
  };

  app.get('/api/flags', async (c) => {
    const p = await session(c);
    const q = parse(FlagsQuery, c.req.query(), 'query');
    if (q.guild !== undefined) requireGuild(p, q.guild);
    if (p.channel !== undefined && q.channel !== undefined && q.channel !== p.channel) throw refuse('forbidden', `this session is limited to channel ${p.channel}`);
    const guild = p.guild ?? q.guild;
    const channel = p.channel ?? q.channel;
    const rows = await deps.store.listModerationFlags({
      provider: q.provider, tenant: p.tenant, limit: q.limit,
      ...(guild ? { guild_ids: [guild] } : {}), ...(channel ? { channel_ids: [channel] } : {}),
      ...(q.status ? { status: q.status } : {}), ...(q.before ? { before_id: q.before } : {}),
    });
    return c.json({ flags: rows.map(flagPayload) });
  });

  app.get('/api/flags/:id', async (c) => c.json(flagPayload(await visibleFlag(c, await session(c)))));

  const clipOf = async (c: Context, p: Scoped, flag: ModerationFlagRow) => {
    const clip = await deps.store.getModerationFlagClip({ provider: flag.provider, tenant: p.tenant, id: flag.id });
    if (!clip) throw refuse('not_found', `flag ${flag.id} has no stored clip (the console cuts it from its replay)`);
    return clip;
  };

  app.get('/api/flags/:id/clip', async (c) => {
    const p = await session(c);
    const flag = await visibleFlag(c, p);
    const clip = await clipOf(c, p, flag);
    // Hearing a clip is a listen: on record before a byte is sent.
    await deps.store.appendAudit({
      provider: flag.provider, tenant: flag.tenant, guild_id: flag.guild_id, channel_id: flag.channel_id, actor: principalKey(p),
      action: 'moderation.flag.clip', detail: { flag_id: flag.id, session_id: flag.session_id, speaker: flag.speaker_id, role: p.role },
    });
    const pcm = new Int16Array(clip.pcm.buffer, clip.pcm.byteOffset, clip.pcm.byteLength / 2);
    return c.body(encodeWavS16(pcm, clip.rate_hz) as Uint8Array<ArrayBuffer>, 200, { 'content-type': 'audio/wav', 'cache-control': 'no-store' });
  });

  app.get('/api/flags/:id/spectrogram', async (c) => {
    const p = await session(c);
    const flag = await visibleFlag(c, p);
    const clip = await clipOf(c, p, flag);
    await deps.store.appendAudit({
      provider: flag.provider, tenant: flag.tenant, guild_id: flag.guild_id, channel_id: flag.channel_id, actor: principalKey(p),
      action: 'moderation.flag.spectrogram', detail: { flag_id: flag.id, session_id: flag.session_id, speaker: flag.speaker_id, role: p.role },
    });
    const pcm = new Int16Array(clip.pcm.buffer, clip.pcm.byteOffset, clip.pcm.byteLength / 2);
    const signal = Float32Array.from(pcm, (s) => s / 32768);
    const hop = Math.round(clip.rate_hz / 100);
    const nFft = 2048;
    if (signal.length < nFft) throw refuse('not_found', `flag ${flag.id}'s clip is too short for a spectrogram`);
    const mel = melSpectrogram(signal, { sampleRate: clip.rate_hz, nFft, winLength: nFft, hopLength: hop, nMels: 64, fmin: 0, fmax: Math.min(8000, clip.rate_hz / 2) });
    // Power to dB, floored 80 dB below the loudest bin (librosa's power_to_db with top_db=80).
    let max = 1e-10;
    for (const v of mel.data) if (v > max) max = v;
    const ref = 10 * Math.log10(max);
    const db = Array.from(mel.data, (v) => Math.round(Math.max(10 * Math.log10(Math.max(v, 1e-10)), ref - 80) * 10) / 10);
    return c.json({ flag_id: flag.id, sample_rate: clip.rate_hz, n_mels: mel.nMels, n_frames: mel.nFrames, hop_ms: (hop / clip.rate_hz) * 1000, db });
  });

  const decide = (verb: 'ack' | 'dismiss') => async (c: Context) => {
    const p = await session(c);
    const flag = await visibleFlag(c, p);
    const text = await c.req.text();
    const body = text.length === 0 ? {} : parse(DecisionBody, (() => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw refuse('schema', 'the body must be JSON');
      }
    })(), 'body');
    const actor = principalKey(p);
    const r = await deps.store.decideModerationFlag({ provider: flag.provider, tenant: p.tenant, id: flag.id, status: verb === 'ack' ? 'acknowledged' : 'dismissed', decided_by: actor });
    if (!r) throw refuse('not_found', `no flag ${flag.id}`);
    if (r.changed) {
      counters.decisions++;
      await deps.store.appendAudit({
        provider: flag.provider, tenant: flag.tenant, guild_id: flag.guild_id, channel_id: flag.channel_id, actor,
        action: `moderation.flag.${verb}`,
        detail: { flag_id: flag.id, rule_id: flag.rule_id, role: p.role, ...(p.name ? { name: p.name } : {}), ...(body.note ? { note: body.note } : {}) },
      });
      deps.publish?.(r.flag);
    }
    return c.json({ changed: r.changed, flag: flagPayload(r.flag) });
  };
  app.post('/api/flags/:id/ack', small, decide('ack'));
  app.post('/api/flags/:id/dismiss', small, decide('dismiss'));

  app.get('/api/moderation/rules', async (c) => {
    const p = await session(c);
    const q = parse(RulesQuery, c.req.query(), 'query');
    requireGuild(p, q.guild);
    const rules = await deps.rules.rules(q.provider, p.tenant, q.guild);
    const stored = new Map((await deps.store.listModerationRules({ provider: q.provider, tenant: p.tenant, guild_id: q.guild })).map((r) => [r.rule_id, r]));
    return c.json({ guild_id: q.guild, rules: rules.map((r) => ruleView(r, deps.regex, r.source === 'store' ? stored.get(r.def.id) : undefined)) });
  });

  const ownerFor = async (c: Context) => {
    const p = await session(c);
    if (p.role !== 'owner') throw refuse('forbidden', 'only an owner may change watch rules');
    const guild = parse(Snowflake, c.req.param('guild'), 'guild');
    const ruleId = parse(RuleId, c.req.param('rule'), 'rule');
    const { provider } = parse(ProviderQuery, c.req.query(), 'query');
    requireGuild(p, guild);
    if (deps.rules.isConfigRule(provider, p.tenant, guild, ruleId)) throw refuse('forbidden', `rule ${ruleId} is defined in moderation.yml; edit the file to change it`);
    return { p, guild, ruleId, provider };
  };

  app.put('/api/moderation/rules/:guild/:rule', small, async (c) => {
    const { p, guild, ruleId, provider } = await ownerFor(c);
    const body = await jsonBody(c, RuleBody);
    const def = parse(RuleDefinitionSchema, { id: ruleId, ...body }, 'body');
    try {
      compileRule({ provider, tenant: p.tenant, guild_id: guild }, def, 'store', 'body');
    } catch (error) {
      if (error instanceof ModerationRuleError) counters.refused++;
      throw error;
    }
    const actor = principalKey(p);
    const before = (await deps.store.listModerationRules({ provider, tenant: p.tenant, guild_id: guild })).find((r) => r.rule_id === ruleId);
    const { created, rule } = await deps.store.putModerationRule({
      provider, tenant: p.tenant, guild_id: guild, rule_id: ruleId, kind: def.kind, label: def.label ?? null, pattern: def.pattern,
      threshold: def.threshold ?? null, enabled: def.enabled, updated_by: actor,
    });
    counters.ruleChanges++;
    deps.rules.invalidate(provider, p.tenant, guild);
    deps.regex?.forgive(`${provider}/${p.tenant}/${guild}/${ruleId}`);
    await deps.store.appendAudit({
      provider, tenant: p.tenant, guild_id: guild, channel_id: null, actor, action: 'moderation.rule.put',
      detail: { rule_id: ruleId, role: p.role, rule: definitionOf(rule), ...(before ? { before: definitionOf(before) } : {}) },
    });
    return c.json({ guild_id: guild, source: 'store', ...definitionOf(rule), updated_by: rule.updated_by, updated_at: rule.updated_at }, created ? 201 : 200);
  });

  app.delete('/api/moderation/rules/:guild/:rule', async (c) => {
    const { p, guild, ruleId, provider } = await ownerFor(c);
    const removed = await deps.store.deleteModerationRule({ provider, tenant: p.tenant, guild_id: guild, rule_id: ruleId });
    if (!removed) throw refuse('not_found', `no rule ${ruleId} in guild ${guild}`);
    counters.ruleChanges++;
    deps.rules.invalidate(provider, p.tenant, guild);
    await deps.store.appendAudit({
      provider, tenant: p.tenant, guild_id: guild, channel_id: null, actor: principalKey(p), action: 'moderation.rule.delete',
      detail: { rule_id: ruleId, role: p.role, before: definitionOf(removed) },
    });
    return c.body(null, 204);
  });

  return counters;
}
