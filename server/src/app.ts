/**
 * The one place that wires concrete drivers chosen from config: storage, the hub, workers, and the
 * access agents (each its own child process with only its own secrets). `promethean start` calls it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrometheanError, type ProviderRegistry } from '@promethean/shared';
import { loadProviders } from '@promethean/shared/node';
import { createHub, type Hub } from './hub/index.ts';
import type { Principal } from './hub/index.ts';
import { createStore, type Store } from './store/index.ts';
import { mountLoginPage } from './web/login-page.ts';

export const PROJECT_ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');

export interface AppOptions {
  /** Data directory (PGlite, agent key, runtime file). */
  dataDir: string;
  /** Hub listen address and port (0 = any free port). */
  host: string;
  port: number;
  /** providers.yml path. */
  providersFile: string;
  /** Environment the config is read from, once, here. */
  env: Readonly<Record<string, string | undefined>>;
  /** Progress lines. */
  log: (line: string) => void;
}

export const defaultAppOptions = {
  dataDir: join(PROJECT_ROOT, '.data'),
  host: '127.0.0.1',
  port: 8787,
  providersFile: join(PROJECT_ROOT, 'providers.yml'),
  log: (line: string) => console.error(line),
} satisfies Partial<AppOptions>;

export interface ProvidersLoad {
  registry: ProviderRegistry;
  /** Credential variables that were unset; non-empty means the built-in stand-in is used. */
  missingCredentials: string[];
}

/**
 * Loads providers.yml. When credentials are missing, every unset credential variable is named and
 * the registry is loaded with stand-in values for them, so the app runs against the local Discord.
 */
export async function loadProvidersForStart(file: string, env: Readonly<Record<string, string | undefined>>): Promise<ProvidersLoad> {
  const missing: string[] = [];
  const overlay: Record<string, string> = {};
  for (let attempt = 0; attempt < 16; attempt++) {
    try {
      const registry = await loadProviders(file, { ...env, ...overlay });
      return { registry, missingCredentials: missing };
    } catch (error) {
      const e = error as PrometheanError;
      const m = /environment variable ([A-Za-z_][A-Za-z0-9_]*) is not set/.exec(e.message);
      if (!(e instanceof PrometheanError) || !m || !e.path?.includes('.credentials.')) throw error;
      missing.push(m[1]!);
      overlay[m[1]!] = 'standin-fake-credential';
    }
  }
  throw new PrometheanError('bad_config', `${file}: too many unset credential variables`);
}

export interface App {
  hub: Hub;
  store: Store;
  registry: ProviderRegistry;
  /** Whether the built-in Discord stand-in is serving instead of Discord. */
  standin: boolean;
  children: ChildProcess[];
  loginLink(): string;
  close(): Promise<void>;
}

export async function startApp(options: Partial<AppOptions> & Pick<AppOptions, 'env'>): Promise<App> {
  const o: AppOptions = { ...defaultAppOptions, ...options };
  const { registry, missingCredentials } = await loadProvidersForStart(o.providersFile, o.env);
  o.log(`config: ${o.providersFile} — ${registry.tenants.map((t) => `${t.provider}/${t.id}`).join(', ')}`);

  o.log(o.env.DATABASE_URL ? 'storage: PostgreSQL (DATABASE_URL)' : `storage: PGlite in ${join(o.dataDir, 'pglite')}`);
  const store = await createStore(o.env.DATABASE_URL ? { databaseUrl: o.env.DATABASE_URL } : { dataDir: join(o.dataDir, 'pglite') });

  const hub = await createHub({
    dataDir: o.dataDir,
    host: o.host,
    port: o.port,
    writeRuntimeFile: true,
    mount: (app) => mountLoginPage(app as never),
    onSubscribe: (principal, pattern) => auditListen(store, principal, pattern, o.log),
  });
  o.log(`hub: ${hub.url} (runtime file ${join(o.dataDir, 'runtime.json')})`);

  const children: ChildProcess[] = [];
  let closing: Promise<void> | undefined;
  const app: App = {
    hub,
    store,
    registry,
    standin: missingCredentials.length > 0,
    children,
    loginLink() {
      const { token } = hub.issueLoginToken();
      return `${hub.httpUrl}/login#token=${token}`;
    },
    close() {
      closing ??= (async () => {
        for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
        await hub.close();
        await store.close();
      })();
      return closing;
    },
  };
  return app;
}

/** Whether a subscription pattern can carry voice audio (and so is a listen that must be audited). */
export function carriesVoice(pattern: string): boolean {
  const intent = pattern.split('.').slice(5);
  if (intent.length === 0) return pattern.split('.').includes('>');
  const [a, b] = intent;
  return (a === 'voice' || a === '*' || a === '>') && (b === undefined || b === 'audio' || b === '*' || b === '>');
}

/** Every listen is written to the audit log: who (role, tenant) subscribed to which voice pattern. */
export function auditListen(store: Store, principal: Principal, pattern: string, log: (line: string) => void): void {
  if (!carriesVoice(pattern)) return;
  const tokens = pattern.split('.');
  const concrete = (t: string | undefined) => (t && t !== '*' && t !== '>' ? t : undefined);
  // A listen across providers or tenants (an agent's) is recorded under promethean/system.
  const provider = concrete(tokens[2]);
  const tenant = principal.tenant ?? concrete(tokens[4]);
  const scoped = provider !== undefined && tenant !== undefined;
  store
    .appendAudit({
      provider: scoped ? provider : 'promethean',
      tenant: scoped ? tenant : 'system',
      guild_id: principal.guild ?? null,
      channel_id: principal.channel ?? null,
      actor: principal.role,
      action: 'listen',
      detail: JSON.stringify({ pattern }),
    })
    .catch((error: unknown) => log(`audit: could not record a listen on ${pattern}: ${(error as Error).message}`));
}

/** Spawns a child process with exactly the environment given (plus PATH/HOME), so secrets don't leak. */
export function spawnAgent(script: string, args: string[], env: Record<string, string>, log: (line: string) => void, name: string): ChildProcess {
  const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: process.env.NODE_ENV ?? 'production' };
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'], cwd: PROJECT_ROOT });
  const relay = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) log(`[${name}] ${line}`);
  };
  child.stdout?.on('data', relay);
  child.stderr?.on('data', relay);
  return child;
}
