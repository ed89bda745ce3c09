/**
 * The `social` section of `cephalon.yml`: which guilds the text brain answers in (none by default),
 * and how. Parsed once at start-up with zod; a bad field stops the worker with its path and line.
 * Other top-level sections of the file (the voice side's) are left to their owners.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { PrometheanError, issuesMessage, parseYamlConfig } from '@promethean/shared';

const SNOWFLAKE_HINT = 'must be a quoted snowflake id ("1100000000000000001")';
const Snowflake = z.string({ error: SNOWFLAKE_HINT }).regex(/^\d{1,20}$/, SNOWFLAKE_HINT);
const Token = z.string().regex(/^[a-z0-9_-]+$/, 'must be a [a-z0-9_-] token');

/** What may be set per tenant and per guild (a guild's value wins over its tenant's, which wins over `defaults`). */
const Tunables = {
  /** Seconds after a reply before the same channel gets another. */
  cooldown_s: z.number().min(0).max(86_400).optional(),
  /** Longest reply posted, characters (Discord's limit is 2,000). */
  max_reply_chars: z.int().min(16).max(2000).optional(),
  /** Messages of the thread read before the mention. */
  history: z.int().min(0).max(100).optional(),
  /** Stored messages nearest to the mention added to the prompt (when the store has embeddings). */
  recall: z.int().min(0).max(20).optional(),
  /** Most characters of thread and recalled text in one prompt. */
  max_prompt_chars: z.int().min(200).max(32_000).optional(),
  /** The LLM's token cap per reply. */
  max_tokens: z.int().min(1).max(512).optional(),
  system_prompt: z.string().min(1).max(4000).optional(),
};

const Guild = z.strictObject({
  id: Snowflake,
  /** Off unless true (or an owner turns the guild on from the console, which wins over this file). */
  enabled: z.boolean(),
  /** Channels (or threads' parents) answered in; absent = every channel of the guild. */
  channels: z.array(Snowflake).max(1000).optional(),
  ...Tunables,
});

const Tenant = z.strictObject({
  provider: Token.default('discord'),
  id: Token,
  /** The bot's user id; learnt from the tenant's REST agent (`GET /users/@me`) when absent. */
  bot_user_id: Snowflake.optional(),
  /** Plain-text names that count as a mention ("promethean"), matched as whole words, case-insensitive. */
  names: z.array(z.string().min(2).max(64)).max(16).optional(),
  guilds: z.array(Guild).max(10_000),
  ...Tunables,
});

export const CephalonSocialSection = z.strictObject({
  defaults: z.strictObject(Tunables).optional(),
  tenants: z.array(Tenant).max(1000).default([]),
});

/** The file: `version`, our `social` section, and any other section (not ours to check). */
export const CephalonFile = z.looseObject({
  version: z.literal(1),
  social: CephalonSocialSection.optional(),
});

export type CephalonSocialConfig = z.infer<typeof CephalonSocialSection>;

export interface SocialSettings {
  cooldownS: number;
  maxReplyChars: number;
  history: number;
  recall: number;
  maxPromptChars: number;
  maxTokens: number;
  systemPrompt: string;
}

export const defaultSocialSettings: SocialSettings = {
  cooldownS: 30,
  maxReplyChars: 1500,
  history: 20,
  recall: 4,
  maxPromptChars: 4000,
  maxTokens: 96,
  systemPrompt: 'You are Promethean, a helpful bot in a Discord server. Answer the last message in one or two short sentences.',
};

/** What the worker asks of the configuration for one message. */
export interface GuildPolicy {
  settings: SocialSettings;
  /** Whether the channel (or the thread's parent) is answered in. */
  allowsChannel(channelId: string, parentId?: string | null): boolean;
}

type TunableInput = { [K in keyof typeof Tunables]?: z.infer<(typeof Tunables)[K]> };

function apply(base: SocialSettings, t: TunableInput | undefined): SocialSettings {
  if (!t) return base;
  return {
    cooldownS: t.cooldown_s ?? base.cooldownS,
    maxReplyChars: t.max_reply_chars ?? base.maxReplyChars,
    history: t.history ?? base.history,
    recall: t.recall ?? base.recall,
    maxPromptChars: t.max_prompt_chars ?? base.maxPromptChars,
    maxTokens: t.max_tokens ?? base.maxTokens,
    systemPrompt: t.system_prompt ?? base.systemPrompt,
  };
}

/** The parsed section as lookups: enabled guilds, bot ids and names per (provider, tenant). */
export class CephalonSocialPolicy {
  readonly config: CephalonSocialConfig;
  readonly #guilds = new Map<string, GuildPolicy>();
  /** Guilds the file lists with `enabled: false`: their settings, used when an owner turns one on from the console. */
  readonly #listedOff = new Map<string, GuildPolicy>();
  readonly #tenants = new Map<string, { botUserId?: string; names: string[] }>();
  /** Settings per tenant (the file's defaults where it lists no tenant): for a guild the file does not list. */
  readonly #tenantSettings = new Map<string, SocialSettings>();
  readonly #defaults: SocialSettings;

  constructor(config: CephalonSocialConfig) {
    this.config = config;
    const defaults = apply(defaultSocialSettings, config.defaults);
    this.#defaults = defaults;
    for (const t of config.tenants) {
      const key = `${t.provider}/${t.id}`;
      this.#tenants.set(key, { ...(t.bot_user_id ? { botUserId: t.bot_user_id } : {}), names: t.names ?? [] });
      const tenantSettings = apply(defaults, t);
      this.#tenantSettings.set(key, tenantSettings);
      for (const g of t.guilds) {
        const channels = g.channels ? new Set(g.channels) : undefined;
        (g.enabled ? this.#guilds : this.#listedOff).set(`${key}/${g.id}`, {
          settings: apply(tenantSettings, g),
          allowsChannel: (channelId, parentId) => !channels || channels.has(channelId) || (parentId != null && channels.has(parentId)),
        });
      }
    }
  }

  /**
   * The guild's policy when replies are on there; undefined (off) otherwise. `override` is an owner's
   * console switch for the guild (`cephalon.toggles`): false turns it off whatever the file says; true
   * turns it on with the file's settings for that guild, or, for a guild the file does not list, the
   * tenant's settings in every channel; undefined leaves it to the file.
   */
  guild(provider: string, tenant: string, guildId: string, override?: boolean): GuildPolicy | undefined {
    const key = `${provider}/${tenant}/${guildId}`;
    if (override === false) return undefined;
    const configured = this.#guilds.get(key);
    if (override === undefined || configured) return configured;
    return this.#listedOff.get(key) ?? { settings: this.#tenantSettings.get(`${provider}/${tenant}`) ?? this.#defaults, allowsChannel: () => true };
  }

  tenant(provider: string, tenant: string): { botUserId?: string; names: string[] } {
    return this.#tenants.get(`${provider}/${tenant}`) ?? { names: [] };
  }

  /** `provider/tenant/guild` of every guild where replies are on (logged at start). */
  enabledGuilds(): string[] {
    return [...this.#guilds.keys()];
  }
}

export function parseCephalonSocialConfig(text: string, source = 'cephalon.yml'): CephalonSocialConfig {
  const { value, locate } = parseYamlConfig(text, 'bad_config', source);
  const r = CephalonFile.safeParse(value);
  if (!r.success) {
    const { path } = issuesMessage(r.error, '');
    throw new PrometheanError('bad_config', `${source}: ${path || 'document'}: ${r.error.issues[0]?.message ?? 'invalid'}${locate(path ? path.split('.') : [])}`, { path });
  }
  const social = r.data.social ?? CephalonSocialSection.parse({});
  const seen = new Set<string>();
  social.tenants.forEach((t, i) => {
    const key = `${t.provider}/${t.id}`;
    if (seen.has(key)) throw new PrometheanError('bad_config', `${source}: social.tenants.${i}.id: ${key} is listed twice${locate(['social', 'tenants', i, 'id'])}`, { path: `social.tenants.${i}.id` });
    seen.add(key);
    const guilds = new Set<string>();
    t.guilds.forEach((g, j) => {
      if (guilds.has(g.id)) throw new PrometheanError('bad_config', `${source}: social.tenants.${i}.guilds.${j}.id: guild ${g.id} is listed twice${locate(['social', 'tenants', i, 'guilds', j, 'id'])}`, { path: `social.tenants.${i}.guilds.${j}.id` });
      guilds.add(g.id);
    });
  });
  return social;
}

/** Reads and parses the file; an unreadable file is a `bad_config` error naming it. */
export async function loadCephalonSocialConfig(path: string): Promise<CephalonSocialConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new PrometheanError('bad_config', `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  return parseCephalonSocialConfig(text, path);
}
