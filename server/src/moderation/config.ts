/**
 * `moderation.yml`: watch rules per guild and the guild's mod-log channel, read once at start-up like
 * speech.yml. A bad field (an unknown key, a refused regular expression, an unquoted guild id) stops
 * the start with a message naming the field and its line. The file is optional: without it, only the
 * rules owners add over HTTP apply.
 *
 * ```yaml
 * version: 1
 * tenants:
 *   discord/demo:
 *     guilds:
 *       - id: "1100000000000000001"
 *         mod_log_channel: "1200000000000000009"
 *         rules:
 *           - { id: doxx-phone, kind: regex, pattern: '\b\d{3}[ -]\d{3}[ -]\d{4}\b', label: phone number }
 *           - { id: threats, kind: semantic, pattern: "I am going to hurt you", threshold: 0.7 }
 * ```
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { PrometheanError, issuesMessage, parseYamlConfig } from '@promethean/shared';
import { ModerationRuleError } from './errors.ts';
import { RuleDefinitionSchema, compileRule, type CompiledRule } from './rules.ts';

const Snowflake = z.string().regex(/^\d{1,20}$/, 'must be a quoted Discord id');

const GuildSchema = z.strictObject({
  id: Snowflake,
  /** A text channel of the guild where new flags are posted (through `social.command.post`). */
  mod_log_channel: Snowflake.optional(),
  rules: z.array(RuleDefinitionSchema).max(500).default([]),
});

export const ModerationConfigSchema = z.strictObject({
  version: z.literal(1),
  /** `<provider>/<tenant>` → its guilds. */
  tenants: z
    .record(z.string().regex(/^[a-z0-9_-]+\/[a-z0-9_-]+$/, 'must be <provider>/<tenant>'), z.strictObject({ guilds: z.array(GuildSchema).max(10_000) }))
    .default({}),
});
export type ModerationConfig = z.output<typeof ModerationConfigSchema>;

/** What the config file says for one guild, compiled. */
export interface GuildModeration {
  provider: string;
  tenant: string;
  guild_id: string;
  mod_log_channel: string | undefined;
  rules: CompiledRule[];
}

/** `provider/tenant/guild` → the guild's settings. */
export type ModerationSettings = Map<string, GuildModeration>;

export function guildKey(provider: string, tenant: string, guild: string): string {
  return `${provider}/${tenant}/${guild}`;
}

/** Parses and compiles the file's text; PrometheanError('bad_config') naming the field and line otherwise. */
export function parseModerationConfig(text: string, source = 'moderation.yml'): ModerationSettings {
  const { value, locate } = parseYamlConfig(text, 'bad_config', source);
  const r = ModerationConfigSchema.safeParse(value ?? { version: 1 });
  if (!r.success) {
    const { path } = issuesMessage(r.error, '');
    throw new PrometheanError('bad_config', `${source}: ${path || 'document'}: ${r.error.issues[0]?.message ?? 'invalid'}${locate(path ? path.split('.') : [])}`, { path });
  }
  const settings: ModerationSettings = new Map();
  for (const [key, t] of Object.entries(r.data.tenants)) {
    const [provider, tenant] = key.split('/') as [string, string];
    t.guilds.forEach((g, gi) => {
      const where = ['tenants', key, 'guilds', String(gi)];
      const k = guildKey(provider, tenant, g.id);
      if (settings.has(k)) throw new PrometheanError('bad_config', `${source}: ${where.join('.')}.id: guild ${g.id} is listed twice${locate([...where, 'id'])}`, { path: `${where.join('.')}.id` });
      const seen = new Set<string>();
      const rules = g.rules.map((def, ri) => {
        const path = [...where, 'rules', String(ri)];
        if (seen.has(def.id)) throw new PrometheanError('bad_config', `${source}: ${path.join('.')}.id: rule ${def.id} appears twice in this guild${locate([...path, 'id'])}`, { path: `${path.join('.')}.id` });
        seen.add(def.id);
        try {
          return compileRule({ provider, tenant, guild_id: g.id }, def, 'config', path.join('.'));
        } catch (error) {
          if (!(error instanceof ModerationRuleError)) throw error;
          throw new PrometheanError('bad_config', `${source}: ${error.message}${locate([...path, 'pattern'])}`, { path: error.path, cause: error });
        }
      });
      settings.set(k, { provider, tenant, guild_id: g.id, mod_log_channel: g.mod_log_channel, rules });
    });
  }
  return settings;
}

/** Reads the file; a missing file is no rules (it is optional), an unreadable or bad one is bad_config. */
export async function loadModerationConfig(path: string): Promise<ModerationSettings> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new PrometheanError('bad_config', `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  return parseModerationConfig(text, path);
}
