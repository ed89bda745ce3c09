/**
 * The `voice` section of `cephalon.yml`: in which guilds the voice brain answers a spoken question
 * addressed to the bot (none by default: turning it on is the owner's edit of the file, or an owner's
 * switch in the console, which wins over the file: see `server/src/bot/`), and by which
 * names it is addressed. Parsed with zod; a bad field stops the worker with its path and line.
 */
import { z } from 'zod';
import { issuesMessage, parseYamlConfig, PrometheanError } from '@promethean/shared';

const SNOWFLAKE_HINT = 'must be a quoted snowflake id ("1100000000000000001")';
const Snowflake = z.string({ error: SNOWFLAKE_HINT }).regex(/^\d{1,20}$/, SNOWFLAKE_HINT);

const Guild = z.strictObject({
  id: Snowflake,
  enabled: z.boolean(),
});

const Tenant = z.strictObject({
  provider: z.string().regex(/^[a-z0-9_-]+$/).default('discord'),
  id: z.string().regex(/^[a-z0-9_-]+$/),
  /** Words that address the bot when spoken ("promethean"), whole words, case-insensitive. */
  names: z.array(z.string().min(2).max(64)).min(1).max(16),
  guilds: z.array(Guild).max(10_000),
});

export const CephalonVoiceSection = z.strictObject({
  /** Seconds after a reply before the same session gets another. */
  cooldown_s: z.number().min(0).max(3600).default(10),
  /** Longest reply spoken, characters. */
  max_reply_chars: z.int().min(16).max(600).default(300),
  /** The LLM's token cap per reply. */
  max_tokens: z.int().min(1).max(256).default(48),
  /** Transcript lines of the session given to the LLM before the question. */
  context_lines: z.int().min(0).max(50).default(6),
  tenants: z.array(Tenant).max(1000).default([]),
});
export type CephalonVoiceConfig = z.infer<typeof CephalonVoiceSection>;

const File = z.looseObject({ version: z.literal(1), voice: CephalonVoiceSection.optional() });

export function parseCephalonVoiceConfig(text: string, source = 'cephalon.yml'): CephalonVoiceConfig {
  const { value, locate } = parseYamlConfig(text, 'bad_config', source);
  const r = File.safeParse(value);
  if (!r.success) {
    const { path } = issuesMessage(r.error, '');
    throw new PrometheanError('bad_config', `${source}: ${path || 'document'}: ${r.error.issues[0]?.message ?? 'invalid'}${locate(path ? path.split('.') : [])}`, { path });
  }
  return r.data.voice ?? CephalonVoiceSection.parse({});
}

/** The names that address the bot in a tenant cephalon.yml does not list. */
export const DEFAULT_VOICE_NAMES: readonly string[] = ['promethean'];

/** Whole-word, case- and accent-insensitive matcher of any of `names`. */
function namesMatcher(names: readonly string[]): RegExp {
  const words = names.map((n) => n.normalize('NFKD').replace(/\p{M}/gu, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`(^|[^\\p{L}\\p{N}])(${words.join('|')})(?=$|[^\\p{L}\\p{N}])`, 'iu');
}

/** Whether a guild answers, and the names that address the bot there. */
export class CephalonVoicePolicy {
  readonly config: CephalonVoiceConfig;
  readonly #names = new Map<string, RegExp>();
  readonly #enabled = new Set<string>();
  readonly #defaultNames: RegExp;

  constructor(config: CephalonVoiceConfig) {
    this.config = config;
    this.#defaultNames = namesMatcher(DEFAULT_VOICE_NAMES);
    for (const t of config.tenants) {
      const key = `${t.provider}/${t.id}`;
      this.#names.set(key, namesMatcher(t.names));
      for (const g of t.guilds) if (g.enabled) this.#enabled.add(`${key}/${g.id}`);
    }
  }

  enabled(provider: string, tenant: string, guildId: string): boolean {
    return this.#enabled.has(`${provider}/${tenant}/${guildId}`);
  }

  /**
   * Whether `text` names the bot (accents and case ignored). A tenant the file does not list is
   * addressed by {@link DEFAULT_VOICE_NAMES}, so a guild an owner turns on from the console answers
   * without an edit of the file.
   */
  addressed(provider: string, tenant: string, text: string): boolean {
    return (this.#names.get(`${provider}/${tenant}`) ?? this.#defaultNames).test(text.normalize('NFKD').replace(/\p{M}/gu, ''));
  }

  enabledGuilds(): string[] {
    return [...this.#enabled];
  }
}
