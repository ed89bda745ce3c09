/**
 * What every access agent process reads from its environment (the supervisor sets it), parsed once
 * with zod, and the one reader both discord-gateway and discord-rest start with: the environment,
 * then the tenant's token and allow-list from providers.yml, then the hub connection with the
 * agent's own bus key.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { BusClient, type Env } from '@promethean/shared';
import { loadTenantAccess, type TenantAccess } from './credentials.ts';

/** The fields every access agent's environment has; `defaultAgentId` is its bus key's id when unset. */
export function accessEnvShape(defaultAgentId: string) {
  return {
    PROMETHEAN_HUB_URL: z.string().regex(/^wss?:\/\//, 'must be a ws:// or wss:// URL'),
    PROMETHEAN_AGENT_TOKEN_FILE: z.string().min(1),
    /** The bus key's agent id (one key per tenant: `<agent>-<tenant>`). */
    PROMETHEAN_AGENT_ID: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/).default(defaultAgentId),
    PROMETHEAN_PROVIDERS_FILE: z.string().min(1),
    PROMETHEAN_PROVIDER: z.string().regex(/^[a-z0-9_-]+$/).default('discord'),
    PROMETHEAN_TENANT: z.string().regex(/^[a-z0-9_-]+$/),
    /** A Discord-compatible API base (the stand-in's); Discord's own when unset. */
    DISCORD_API_BASE: z.url().optional(),
    PROMETHEAN_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
    PROMETHEAN_BUILD_SHA: z.string().default('dev'),
  };
}

/** What the shared reader needs of a parsed access agent environment. */
export interface AccessEnv {
  PROMETHEAN_HUB_URL: string;
  PROMETHEAN_AGENT_TOKEN_FILE: string;
  PROMETHEAN_PROVIDERS_FILE: string;
  PROMETHEAN_PROVIDER: string;
  PROMETHEAN_TENANT: string;
}

/** Parses `env` with `schema`; throws an Error naming the first bad field. */
export function parseAccessEnv<S extends z.ZodType>(schema: S, env: Env): z.output<S> {
  const r = schema.safeParse(env);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`${i.path.join('.')}: ${i.message}`);
  }
  return r.data;
}

export interface AccessConfig<C extends AccessEnv> {
  config: C;
  access: TenantAccess;
}

/**
 * The environment and the tenant's access, or undefined after printing `<name>: <field>: <problem>`
 * to stderr when the environment is bad (the entry then exits 2). A bad providers.yml or a missing
 * credential variable throws a PrometheanError naming it.
 */
export async function readAccessConfig<C extends AccessEnv>(name: string, parse: (env: Env) => C, manifestFile: string, env: Env): Promise<AccessConfig<C> | undefined> {
  let config: C;
  try {
    config = parse(env);
  } catch (error) {
    console.error(`${name}: ${(error as Error).message}`);
    return undefined;
  }
  const access = await loadTenantAccess(manifestFile, config.PROMETHEAN_PROVIDERS_FILE, config.PROMETHEAN_PROVIDER, config.PROMETHEAN_TENANT, env);
  return { config, access };
}

/** A connected bus client with the agent's own key (read from its key file). */
export async function connectAccessBus(config: AccessEnv): Promise<BusClient> {
  const bus = new BusClient({ url: config.PROMETHEAN_HUB_URL, token: (await readFile(config.PROMETHEAN_AGENT_TOKEN_FILE, 'utf8')).trim() });
  await bus.connect();
  return bus;
}
