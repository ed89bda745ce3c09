/**
 * The `transcription:` section of speech.yml: who is never transcribed (a guild's opt-out list) and
 * which language a tenant or guild speaks. Read once at start-up with the rest of speech.yml; a bad
 * field stops the worker with its path and line. Opted-out users' audio is still relayed to
 * moderators: only the STT worker skips them (their PCM is not even kept in its ring).
 *
 * ```yaml
 * transcription:
 *   enabled: true                 # default; false = the worker transcribes nobody
 *   language: en                  # default language hint for every tenant (optional)
 *   tenants:
 *     discord/demo:
 *       language: en
 *       guilds:
 *         "1100000000000000001":
 *           language: en
 *           opt_out: ["1200000000000000007"]
 * ```
 */
import { z } from 'zod';
import { PrometheanError, issuesMessage, parseYamlConfig } from '@promethean/shared';

/** Ids are quoted strings: a YAML number would lose a snowflake's last digits. */
const ID_MESSAGE = 'must be a quoted numeric id such as "1100000000000000001"';
const Id = z.string({ error: ID_MESSAGE }).regex(/^[0-9]{1,20}$/, ID_MESSAGE);
const Language = z.string().regex(/^[a-z]{2,3}$/, 'must be an ISO-639-1 code such as en');
const MAX_OPT_OUT = 100_000;

const GuildTranscription = z.strictObject({
  /** Users never transcribed in this guild. */
  opt_out: z.array(Id).max(MAX_OPT_OUT).default([]),
  language: Language.optional(),
});
const TenantTranscription = z.strictObject({
  language: Language.optional(),
  guilds: z.record(Id, GuildTranscription).optional(),
});

export const TranscriptionConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  language: Language.optional(),
  /** `<provider>/<tenant>` → its settings. */
  tenants: z.record(z.string().regex(/^[a-z0-9_-]+\/[a-z0-9_-]+$/, 'must be <provider>/<tenant>'), TenantTranscription).optional(),
});
export type TranscriptionConfig = z.infer<typeof TranscriptionConfigSchema>;

/** No `transcription:` section: everyone is transcribed, the model picks the language. */
export const defaultTranscriptionConfig: TranscriptionConfig = { enabled: true };

/** The `transcription` section of speech.yml's text (the rest of the file is speech/config.ts's). */
export function parseTranscriptionConfig(text: string, source = 'speech.yml'): TranscriptionConfig {
  const { value, locate } = parseYamlConfig(text, 'bad_config', source);
  const section = value !== null && typeof value === 'object' ? (value as Record<string, unknown>).transcription : undefined;
  if (section === undefined || section === null) return defaultTranscriptionConfig;
  const r = TranscriptionConfigSchema.safeParse(section);
  if (!r.success) {
    const { path } = issuesMessage(r.error, 'transcription');
    throw new PrometheanError('bad_config', `${source}: ${path}: ${r.error.issues[0]?.message ?? 'invalid'}${locate(path.split('.'))}`, { path });
  }
  for (const [tenant, t] of Object.entries(r.data.tenants ?? {})) {
    for (const [guild, g] of Object.entries(t.guilds ?? {})) {
      const seen = new Set<string>();
      for (const [i, user] of g.opt_out.entries()) {
        if (seen.has(user)) {
          const path = `transcription.tenants.${tenant}.guilds.${guild}.opt_out.${i}`;
          throw new PrometheanError('bad_config', `${source}: ${path}: user ${user} is listed twice${locate(path.split('.'))}`, { path });
        }
        seen.add(user);
      }
    }
  }
  return r.data;
}

/** Lookups over a parsed config: opt-out sets built once. */
export class TranscriptionPolicy {
  readonly config: TranscriptionConfig;
  /** `provider/tenant\nguild` → users opted out. */
  readonly #optOut = new Map<string, Set<string>>();
  /** `provider/tenant` → users opted out in any of its guilds (used while a session's guild is unknown). */
  readonly #optOutAnyGuild = new Map<string, Set<string>>();

  constructor(config: TranscriptionConfig = defaultTranscriptionConfig) {
    this.config = config;
    for (const [tenant, t] of Object.entries(config.tenants ?? {})) {
      const any = new Set<string>();
      for (const [guild, g] of Object.entries(t.guilds ?? {})) {
        this.#optOut.set(`${tenant}\n${guild}`, new Set(g.opt_out));
        for (const u of g.opt_out) any.add(u);
      }
      this.#optOutAnyGuild.set(tenant, any);
    }
  }

  get enabled(): boolean {
    return this.config.enabled;
  }

  /**
   * Whether `user` must not be transcribed in `guild` of `provider/tenant`. With the guild unknown
   * (a session whose `voice.state.connected` was not seen), a user opted out in any guild of the
   * tenant counts as opted out: an unknown guild never leaks someone's speech.
   */
  optedOut(tenant: string, guild: string | undefined, user: string): boolean {
    if (guild === undefined) return this.#optOutAnyGuild.get(tenant)?.has(user) ?? false;
    return this.#optOut.get(`${tenant}\n${guild}`)?.has(user) ?? false;
  }

  /** The language hint: the guild's, else the tenant's, else the section's; undefined lets the model decide. */
  language(tenant: string, guild: string | undefined): string | undefined {
    const t = this.config.tenants?.[tenant];
    return (guild !== undefined ? t?.guilds?.[guild]?.language : undefined) ?? t?.language ?? this.config.language;
  }
}
