/**
 * The text access agents `promethean start` runs: for every Discord tenant in providers.yml, one
 * `discord-rest` (REST + the proxy's HTTP face) and one `discord-gateway` process, each with its own
 * bus key (`discord-rest-<tenant>`, `discord-gateway-<tenant>`) and only its tenant's credential
 * variables. A second tenant is a second entry in providers.yml: nothing else changes. The proxy
 * client key (`<data dir>/keys/rest-proxy.key`, 0600, new at every start) is what tokenless clients
 * present to the proxy instead of the bot token.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProviderRegistry, TenantConfig } from '@promethean/shared';
import { loadManifest } from '@promethean/shared/node';
import { issueAgentKey, keysDir } from '../hub/agent-keys.ts';
import type { ChildSpec } from './child.ts';

export interface TextAccessAgent {
  kind: 'rest' | 'gateway';
  /** Child name and bus key id: `discord-rest-<tenant>` / `discord-gateway-<tenant>`. */
  id: string;
  tenant: TenantConfig;
  script: string;
  manifest: string;
}

/** Where the proxy client key lives. */
export function restProxyKeyPath(dataDir: string): string {
  return join(keysDir(dataDir), 'rest-proxy.key');
}

/** Writes a fresh proxy client key (0600, directory 0700); returns its path. */
export async function writeRestProxyKey(dataDir: string): Promise<string> {
  await mkdir(keysDir(dataDir), { recursive: true, mode: 0o700 });
  await chmod(keysDir(dataDir), 0o700);
  const path = restProxyKeyPath(dataDir);
  await writeFile(`${path}.tmp`, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  await rename(`${path}.tmp`, path);
  return path;
}

/** One REST and one gateway agent per Discord tenant. */
export function textAccessAgents(registry: ProviderRegistry, projectRoot: string): TextAccessAgent[] {
  const dir = (kind: string) => join(projectRoot, `server/src/access/discord-${kind}`);
  return registry.tenants
    .filter((t) => t.provider === 'discord')
    .flatMap((tenant) =>
      (['rest', 'gateway'] as const).map((kind) => ({ kind, id: `discord-${kind}-${tenant.id}`, tenant, script: join(dir(kind), 'main.ts'), manifest: join(dir(kind), 'agent.yml') })),
    );
}

/** Issues each agent's bus key, allowed to publish what its manifest declares. Agent id → key file. */
export async function issueTextAccessKeys(dataDir: string, agents: readonly TextAccessAgent[]): Promise<Map<string, string>> {
  const keys = new Map<string, string>();
  for (const a of agents) keys.set(a.id, await issueAgentKey(dataDir, a.id, { outputs: (await loadManifest(a.manifest)).outputs, readonly: false }));
  return keys;
}

export interface TextAccessEnvInput {
  hubUrl: string;
  keyFile: string;
  proxyKeyFile: string;
  providersFile: string;
  /** Run against the stand-in with a fake credential. */
  useStandin: boolean;
  /** The supervisor's environment (credentials are copied by name from it). */
  env: Readonly<Record<string, string | undefined>>;
  /** DISCORD_API_BASE / DISCORD_CDN_BASE / NODE_EXTRA_CA_CERTS when pointed elsewhere. */
  endpoint: Record<string, string>;
  /** The stand-in's guild, admitted by the default allow-list. */
  standinGuildId: string | undefined;
  /** Non-credential variables providers.yml references (`settingsEnv`). */
  settings: Record<string, string>;
}

/** The child spec of one text access agent: exactly its own credential variables, nothing else secret. */
export function textAccessSpec(a: TextAccessAgent, i: TextAccessEnvInput, cwd: string): ChildSpec {
  const secrets: Record<string, string> = {};
  for (const { env } of Object.values(a.tenant.credentials)) secrets[env] = i.useStandin ? 'standin-fake-credential' : (i.env[env] ?? '');
  const env: Record<string, string> = {
    ...i.settings,
    ...secrets,
    ...i.endpoint,
    PROMETHEAN_HUB_URL: i.hubUrl,
    PROMETHEAN_AGENT_TOKEN_FILE: i.keyFile,
    PROMETHEAN_AGENT_ID: a.id,
    PROMETHEAN_PROVIDER: a.tenant.provider,
    PROMETHEAN_TENANT: a.tenant.id,
    PROMETHEAN_PROVIDERS_FILE: i.providersFile,
    ...(a.kind === 'rest' ? { PROMETHEAN_REST_PROXY_KEY_FILE: i.proxyKeyFile } : {}),
    ...(i.useStandin && i.standinGuildId ? { DISCORD_GUILD_ID: i.standinGuildId } : {}),
  };
  return { name: a.id, role: 'access', script: a.script, args: [], env, cwd };
}
