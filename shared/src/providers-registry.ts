/**
 * The provider registry (`providers.yml`): which (provider, tenant) pairs exist, their allow-lists,
 * rate settings and storage names. Credentials are `${ENV}` references resolved from the `env`
 * argument (browser-safe: nothing here reads `process.env`). Secret values never appear as fields of
 * the parsed registry: only an access agent's handle ({@link createAccessHandle}) reads them through
 * {@link ProviderRegistry.secrets}.
 *
 * Interpolation: `${NAME}` and `${NAME:-default}` in any string; `$${` is a literal `${`. A variable
 * that is unset (or empty) and has no default is an error naming it, unless its field is optional, in
 * which case the field is left out (so does a reference that comes out empty, `${NAME:-}`). Credentials must be exactly one `${NAME}` each.
 */
import { z } from 'zod';
import { issuesMessage } from './envelope.ts';
import { PrometheanError } from './errors.ts';
import { parseYamlConfig, type AgentManifest } from './manifest.ts';
import { ID_TOKEN_RE } from './topics.ts';

export type Env = Readonly<Record<string, string | undefined>>;

const Token = z.string().regex(ID_TOKEN_RE, 'must be a [a-z0-9_-] token');
const Int = (min: number, max: number) =>
  z.preprocess((v) => (typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : v), z.number().int().min(min).max(max));
/** Ids are strings: a YAML number loses a snowflake's low digits. */
const IdOrStar = z
  .string({ error: (issue) => (typeof issue.input === 'number' ? 'quote ids: a YAML number loses precision' : 'must be a string id or *') })
  .min(1)
  .max(128);
const SqlName = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier');
/** A YAML boolean, or `"true"` / `"false"` as an interpolated `${NAME:-true}` gives it. */
const Bool = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean({ error: 'must be true or false' }));

/** Voice settings of one guild; unset fields fall back to the tenant's. */
const VoiceGuildSchema = z
  .object({ id: IdOrStar.refine((v) => v !== '*', 'must be one guild id (the tenant-level setting covers every guild)'), announce_listeners: Bool.optional() })
  .strict();
const VoiceSchema = z
  .object({
    /** The bot's presence says how many moderators listen ("Relaying to 2 moderators"). */
    announce_listeners: Bool.default(true),
    /** Per-guild overrides, as a list so that ids stay quoted strings. */
    guilds: z.array(VoiceGuildSchema).max(10_000).default([]),
  })
  .strict()
  .superRefine((v, ctx) => {
    v.guilds.forEach((g, i) => {
      if (v.guilds.findIndex((o) => o.id === g.id) !== i) ctx.addIssue({ code: 'custom', path: ['guilds', i, 'id'], message: `duplicate guild "${g.id}"` });
    });
  });

const TenantSchema = z
  .object({
    id: Token,
    app_id: z.string().min(1).max(128).optional(),
    credentials: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'credential names are [a-z0-9_]'), z.string().min(1)),
    allow: z
      .object({ guilds: z.array(IdOrStar).min(1), channels: z.array(IdOrStar).min(1).default(['*']) })
      .strict(),
    rate: z
      .object({ max_concurrent: Int(1, 256).default(4), requests_per_s: Int(1, 10_000).default(50) })
      .strict()
      .default({ max_concurrent: 4, requests_per_s: 50 }),
    storage: z.object({ schema: SqlName.optional(), vector_namespace: z.string().regex(/^[a-z0-9_-]{1,128}$/).optional() }).strict().default({}),
    voice: VoiceSchema.default({ announce_listeners: true, guilds: [] }),
  })
  .strict();

/** Credentials each known provider needs; others may declare any. */
const REQUIRED_CREDENTIALS: Record<string, readonly string[]> = { discord: ['bot_token'] };

const ProvidersFileSchema = z
  .object({
    version: z.literal(1),
    providers: z.record(Token, z.object({ tenants: z.array(TenantSchema).min(1) }).strict(), {
      error: (issue) => (issue.code === 'invalid_key' ? 'provider names must be [a-z0-9_-] tokens' : undefined),
    }),
  })
  .strict()
  .superRefine((file, ctx) => {
    for (const [provider, { tenants }] of Object.entries(file.providers)) {
      tenants.forEach((t, i) => {
        if (tenants.findIndex((o) => o.id === t.id) !== i) {
          ctx.addIssue({ code: 'custom', path: ['providers', provider, 'tenants', i, 'id'], message: `duplicate tenant "${t.id}"` });
        }
        for (const name of REQUIRED_CREDENTIALS[provider] ?? []) {
          if (!(name in t.credentials)) ctx.addIssue({ code: 'custom', path: ['providers', provider, 'tenants', i, 'credentials', name], message: 'required' });
        }
      });
    }
  });

export interface TenantConfig {
  provider: string;
  id: string;
  app_id: string | undefined;
  allow: { guilds: string[]; channels: string[] };
  rate: { max_concurrent: number; requests_per_s: number };
  storage: { schema: string; vector_namespace: string };
  /** Credential name → the variable it came from. Never the value. */
  credentials: Record<string, { env: string }>;
  /** Voice settings for the tenant, with per-guild overrides. */
  voice: { announce_listeners: boolean; guilds: { id: string; announce_listeners?: boolean }[] };
}

/** A guild's effective voice settings ({@link ProviderRegistry.voiceSettings}). */
export interface VoiceSettings {
  /** Show the number of listening moderators in the bot's presence. */
  announce_listeners: boolean;
}

type Secrets = Readonly<Record<string, string>>;
const SECRETS = new WeakMap<ProviderRegistry, Map<string, Secrets>>();
const HANDLES = new WeakSet<AccessHandle>();

/** Proof that an access agent may read its provider's secrets; only {@link createAccessHandle} makes one. */
export interface AccessHandle {
  readonly agent_id: string;
  readonly provider: string;
  readonly tenants: readonly string[];
}

/**
 * Makes the handle an access agent passes to {@link ProviderRegistry.secrets}. Throws `forbidden`
 * unless the manifest is of kind `access` and holds a `provider.<p>.*` capability for its bound provider.
 */
export function createAccessHandle(manifest: AgentManifest): AccessHandle {
  const provider = manifest.binds.provider;
  const deny = (why: string) => new PrometheanError('forbidden', `agent "${manifest.id}" may not read provider secrets: ${why}`);
  if (manifest.kind !== 'access') throw deny(`it is a ${manifest.kind}, not an access agent`);
  if (provider === '*') throw deny('it does not bind one provider');
  if (!manifest.capabilities.some((c) => c.kind === 'provider' && c.provider === provider)) throw deny(`it holds no provider.${provider}.* capability`);
  const handle: AccessHandle = Object.freeze({ agent_id: manifest.id, provider, tenants: Object.freeze([...manifest.binds.tenants]) });
  HANDLES.add(handle);
  return handle;
}

export class ProviderRegistry {
  readonly tenants: readonly TenantConfig[];

  /** Use {@link parseProvidersConfig}; `secrets` is keyed `provider/tenant`. */
  constructor(tenants: TenantConfig[], secrets: Map<string, Secrets>) {
    this.tenants = Object.freeze(tenants);
    SECRETS.set(this, secrets);
  }

  providers(): string[] {
    return [...new Set(this.tenants.map((t) => t.provider))];
  }

  find(provider: string, tenant: string): TenantConfig | undefined {
    return this.tenants.find((t) => t.provider === provider && t.id === tenant);
  }

  /** Throws `bad_config` when providers.yml has no such tenant. */
  get(provider: string, tenant: string): TenantConfig {
    const found = this.find(provider, tenant);
    if (!found) throw new PrometheanError('bad_config', `providers.yml has no tenant "${tenant}" for provider "${provider}"`);
    return found;
  }

  /** Whether the tenant's allow-list admits a guild (and channel, when given). Unknown tenants admit nothing. */
  allows(provider: string, tenant: string, where: { guild_id: string; channel_id?: string }): boolean {
    const t = this.find(provider, tenant);
    if (!t) return false;
    const has = (list: string[], id: string) => list.includes('*') || list.includes(id);
    return has(t.allow.guilds, where.guild_id) && (where.channel_id === undefined || has(t.allow.channels, where.channel_id));
  }

  /**
   * A guild's voice settings: what its entry in `voice.guilds` sets, else the tenant's `voice`
   * settings. An unknown tenant gets the built-in defaults (announcing on).
   */
  voiceSettings(provider: string, tenant: string, guildId: string): VoiceSettings {
    const voice = this.find(provider, tenant)?.voice;
    if (!voice) return { announce_listeners: true };
    const entry = voice.guilds.find((g) => g.id === guildId);
    return { announce_listeners: entry?.announce_listeners ?? voice.announce_listeners };
  }

  /** The tenant's credentials, for the access agent whose handle this is; `forbidden` for anyone else. */
  secrets(handle: AccessHandle, provider: string, tenant: string): Secrets {
    const deny = (why: string) => new PrometheanError('forbidden', `secrets of ${provider}/${tenant} refused: ${why}`);
    if (!HANDLES.has(handle)) throw deny('not an access handle from createAccessHandle()');
    if (handle.provider !== provider) throw deny(`agent "${handle.agent_id}" is bound to ${handle.provider}`);
    if (!handle.tenants.includes('*') && !handle.tenants.includes(tenant)) throw deny(`agent "${handle.agent_id}" does not bind tenant "${tenant}"`);
    this.get(provider, tenant);
    return SECRETS.get(this)!.get(`${provider}/${tenant}`)!;
  }
}

const REF_RE = /\$\{([^}]*)\}/g;
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const WHOLE_REF_RE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

interface Interpolation {
  /** Dotted path → variable that was unset, for fields left out. */
  missing: Map<string, string>;
  /** Dotted path → variable, for strings that were exactly one `${NAME}`. */
  refs: Map<string, string>;
}

function interpolateString(text: string, env: Env, path: string, state: Interpolation): string | undefined {
  const whole = WHOLE_REF_RE.exec(text);
  if (whole) state.refs.set(path, whole[1]!);
  const parts = text.split('$${');
  if (parts.some((p) => /\$\{(?![^}]*\})/.test(p))) throw new PrometheanError('bad_config', `${path}: unterminated "\${"`, { path });
  let unset: string | undefined;
  let last: string | undefined;
  const out = parts.map((part) =>
    part.replace(REF_RE, (_, body: string) => {
      const sep = body.indexOf(':-');
      const name = sep < 0 ? body : body.slice(0, sep);
      last = name;
      if (!NAME_RE.test(name)) throw new PrometheanError('bad_config', `${path}: "\${${body}}" is not a valid \${NAME} reference`, { path });
      const value = env[name];
      if (value !== undefined && value !== '') return value;
      if (sep >= 0) return body.slice(sep + 2);
      unset ??= name;
      return '';
    }),
  );
  const joined = out.join('${');
  // A reference that came out empty (`${NAME:-}`) leaves the field out, like an unset one.
  if (unset === undefined && !(joined === '' && last !== undefined)) return joined;
  state.missing.set(path, unset ?? last!);
  return undefined;
}

function interpolate(value: unknown, env: Env, path: string[], state: Interpolation): unknown {
  const here = path.join('.');
  if (typeof value === 'string') return interpolateString(value, env, here, state);
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, [...path, String(i)], state));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const next = interpolate(v, env, [...path, k], state);
      if (next !== undefined) out[k] = next;
    }
    return out;
  }
  return value;
}

/**
 * Parses providers.yml text against `env`. Throws {@link PrometheanError} `bad_config` whose `path`
 * and message name the bad field (`providers.discord.tenants.0.id`) or the unset variable; YAML
 * syntax errors carry their line number.
 */
export function parseProvidersConfig(yamlText: string, env: Env, source = 'providers.yml'): ProviderRegistry {
  const { value, locate } = parseYamlConfig(yamlText, 'bad_config', source);
  const state: Interpolation = { missing: new Map(), refs: new Map() };
  const fail = (path: string, message: string): never => {
    throw new PrometheanError('bad_config', `${source}: ${path || 'document'}: ${message}${locate(path ? path.split('.') : [])}`, { path });
  };
  let interpolated: unknown;
  try {
    interpolated = interpolate(value, env, [], state);
  } catch (error) {
    const path = (error as PrometheanError).path ?? '';
    throw new PrometheanError('bad_config', `${source}: ${(error as Error).message}${locate(path.split('.'))}`, { path, cause: error });
  }
  const result = ProvidersFileSchema.safeParse(interpolated);
  if (!result.success) {
    const { path } = issuesMessage(result.error, '');
    const unset = state.missing.get(path);
    return fail(path, unset !== undefined ? `environment variable ${unset} is not set` : (result.error.issues[0]?.message ?? 'invalid'));
  }
  const tenants: TenantConfig[] = [];
  const secrets = new Map<string, Secrets>();
  for (const [provider, { tenants: list }] of Object.entries(result.data.providers)) {
    list.forEach((t, i) => {
      const base = `providers.${provider}.tenants.${i}`;
      for (const [path, name] of state.missing) {
        if (path.startsWith(`${base}.credentials.`)) fail(path, `environment variable ${name} is not set`);
      }
      const credentials: Record<string, { env: string }> = {};
      for (const name of Object.keys(t.credentials)) {
        const variable = state.refs.get(`${base}.credentials.${name}`);
        if (variable === undefined) fail(`${base}.credentials.${name}`, 'credentials must be a single ${NAME} reference, never a literal secret');
        credentials[name] = { env: variable! };
      }
      secrets.set(`${provider}/${t.id}`, Object.freeze({ ...t.credentials }));
      tenants.push({
        provider,
        id: t.id,
        app_id: t.app_id,
        allow: t.allow,
        rate: t.rate,
        storage: {
          schema: t.storage.schema ?? `${provider}_${t.id}`.replace(/-/g, '_'),
          vector_namespace: t.storage.vector_namespace ?? `${provider}__${t.id}`,
        },
        credentials,
        voice: {
          announce_listeners: t.voice.announce_listeners,
          guilds: t.voice.guilds.map((g) => (g.announce_listeners === undefined ? { id: g.id } : { id: g.id, announce_listeners: g.announce_listeners })),
        },
      });
    });
  }
  return new ProviderRegistry(tenants, secrets);
}
