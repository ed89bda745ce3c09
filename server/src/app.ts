/**
 * The server process's wiring, the one place that picks concrete drivers from config: storage, the
 * hub (with the console's routes) and, as they land, SFU signalling. It holds no provider secret:
 * providers.yml is read with credentials left unresolved. `server/src/main.ts` runs it as the child
 * process that `promethean start` (the supervisor) spawns; tests call {@link startServer} directly.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProviderRegistry } from '@promethean/shared';
import { createHub, type Hub } from './hub/index.ts';
import type { Principal } from './hub/index.ts';
import { createStore, type Store } from './store/index.ts';
import { loadProvidersForStart } from './supervisor/providers.ts';
import { mountLoginPage } from './web/login-page.ts';

export const PROJECT_ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');

export interface ServerOptions {
  /** Data directory (PGlite, agent key, runtime file). */
  dataDir: string;
  /** Hub listen address and port (0 = any free port). */
  host: string;
  port: number;
  /** providers.yml path. */
  providersFile: string;
  /** `postgres://…` switches storage from PGlite to PostgreSQL. */
  databaseUrl: string | undefined;
  /** Environment providers.yml's non-secret references are read from (never holds a credential). */
  env: Readonly<Record<string, string | undefined>>;
  /** Progress lines. */
  log: (line: string) => void;
}

export const defaultServerOptions = {
  dataDir: join(PROJECT_ROOT, '.data'),
  host: '127.0.0.1',
  port: 8787,
  providersFile: join(PROJECT_ROOT, 'providers.yml'),
  databaseUrl: undefined,
  env: {},
  log: (line: string) => console.error(line),
} satisfies Partial<ServerOptions>;

export interface Server {
  hub: Hub;
  store: Store;
  registry: ProviderRegistry;
  /** A fresh one-time owner login link. */
  loginLink(): string;
  close(): Promise<void>;
}

export async function startServer(options: Partial<ServerOptions> = {}): Promise<Server> {
  const o: ServerOptions = { ...defaultServerOptions, ...options };
  const { registry } = await loadProvidersForStart(o.providersFile, o.env);
  const store = await createStore(o.databaseUrl ? { databaseUrl: o.databaseUrl } : { dataDir: join(o.dataDir, 'pglite') });
  let hub: Hub;
  try {
    hub = await createHub({
      dataDir: o.dataDir,
      host: o.host,
      port: o.port,
      writeRuntimeFile: true,
      mount: (app) => mountLoginPage(app as never),
      onSubscribe: (principal, pattern) => auditListen(store, principal, pattern, o.log),
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    hub,
    store,
    registry,
    loginLink() {
      const { token } = hub.issueLoginToken();
      return `${hub.httpUrl}/login#token=${token}`;
    },
    close() {
      closing ??= (async () => {
        await hub.close();
        await store.close();
      })();
      return closing;
    },
  };
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
