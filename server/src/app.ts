/**
 * The one place that wires concrete drivers chosen from config: storage, the hub, workers, and the
 * access agents (each its own child process with only its own secrets). `promethean start` calls it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrometheanError, makeEnvelope, type ProviderRegistry } from '@promethean/shared';
import { loadProviders } from '@promethean/shared/node';
import { BusClient } from '@promethean/shared';
import { AgentRuntime, agentBusFrom } from '@promethean/shared/node';
import { createDaveExtension, parseStandinFlags, startStandin, type Standin } from '@promethean/standin';
import { createHub, type Hub } from './hub/index.ts';
import { MixerWorker } from './workers/mixer/worker.ts';
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
  /** Built-in stand-in (used when no Discord credentials are set): `--speaker NAME=FILE.wav` values and DAVE. */
  standinSpeakers: string[];
  standinDave: boolean;
  /** Start the voice access agent (bridge) and join the stand-in's voice channel. */
  bridge: boolean;
}

export const defaultAppOptions = {
  dataDir: join(PROJECT_ROOT, '.data'),
  host: '127.0.0.1',
  port: 8787,
  providersFile: join(PROJECT_ROOT, 'providers.yml'),
  log: (line: string) => console.error(line),
  standinSpeakers: [] as string[],
  standinDave: false,
  bridge: true,
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
  /** The built-in Discord stand-in, when it serves instead of Discord. */
  standin: Standin | undefined;
  /** The mixer worker's bus connection and runtime. */
  workers: AgentRuntime[];
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
  const workers: AgentRuntime[] = [];
  const clients: BusClient[] = [];
  let standin: Standin | undefined;
  let closing: Promise<void> | undefined;
  const app: App = {
    hub,
    store,
    registry,
    standin: undefined,
    workers,
    children,
    loginLink() {
      const { token } = hub.issueLoginToken();
      return `${hub.httpUrl}/login#token=${token}`;
    },
    close() {
      closing ??= (async () => {
        await Promise.all(children.map((c) => stopChild(c)));
        for (const w of workers) w.stop();
        for (const c of clients) c.close();
        await standin?.close();
        await hub.close();
        await store.close();
      })();
      return closing;
    },
  };
  try {
    // Workers: tokenless, in this process, each with its own bus connection.
    const mixerBus = new BusClient({ url: hub.url, token: hub.agentKey });
    clients.push(mixerBus);
    await mixerBus.connect();
    const mixerRuntime = new AgentRuntime({ id: 'mixer', kind: 'worker', bus: agentBusFrom(mixerBus), logLevel: 'warn' });
    workers.push(mixerRuntime);
    new MixerWorker(mixerRuntime).start();
    mixerRuntime.start();
    o.log('worker: mixer');

    if (missingCredentials.length > 0) {
      o.log(`discord: no credentials (${missingCredentials.join(', ')} unset) — starting the built-in Discord stand-in`);
      const flags = parseStandinFlags([...o.standinSpeakers.flatMap((s) => ['--speaker', s]), ...(o.standinDave ? ['--dave'] : [])]);
      const extensions = o.standinDave ? [createDaveExtension()] : [];
      standin = await startStandin({ ...flags.options, dataDir: join(o.dataDir, 'standin'), extensions, log: () => undefined });
      app.standin = standin;
      o.log(`standin: ${standin.restApi} — guild ${standin.guildId}, voice channel ${standin.voiceChannelId}, speakers ${standin.speakers.list().map((x) => x.name).join(', ')}`);
    }
    if (o.bridge) {
      const tenant = registry.tenants.find((t) => t.provider === 'discord');
      if (!tenant) throw new PrometheanError('bad_config', `${o.providersFile}: no discord tenant to run the voice access agent for`);
      // The access agent gets exactly its own credential variables, copied by name from providers.yml.
      const secrets: Record<string, string> = {};
      for (const { env } of Object.values(tenant.credentials)) secrets[env] = standin ? 'standin-fake-credential' : (o.env[env] ?? '');
      const child = spawnAgent(
        join(PROJECT_ROOT, 'bridge/src/main.ts'),
        [],
        {
          ...secrets,
          PROMETHEAN_HUB_URL: hub.url,
          PROMETHEAN_AGENT_TOKEN_FILE: hub.agentKeyFile,
          PROMETHEAN_PROVIDER: 'discord',
          PROMETHEAN_TENANT: tenant.id,
          PROMETHEAN_PROVIDERS_FILE: o.providersFile,
          BRIDGE_LOG_LEVEL: 'warn',
          // providers.yml's allow-list reads DISCORD_GUILD_ID; the stand-in's own guild must be admitted
          ...(o.env.DISCORD_GUILD_ID ? { DISCORD_GUILD_ID: o.env.DISCORD_GUILD_ID } : {}),
          ...(standin ? { DISCORD_API_BASE: standin.restApi, NODE_EXTRA_CA_CERTS: standin.certPath, DISCORD_GUILD_ID: standin.guildId } : {}),
        },
        o.log,
        'discord-voice-access',
      );
      children.push(child);
      o.log(`access agent: discord-voice-access (pid ${child.pid})`);
      if (standin) await joinWhenReady(hub, tenant.id, standin, child, o.log);
    }
  } catch (error) {
    await app.close();
    throw error;
  }
  return app;
}

/** Waits for the voice access agent's first health envelope, then asks it to join the stand-in's channel. */
async function joinWhenReady(hub: Hub, tenant: string, standin: Standin, agent: ChildProcess, log: (line: string) => void): Promise<void> {
  const control = new BusClient({ url: hub.url, token: hub.agentKey });
  await control.connect();
  try {
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        sub();
        reject(new PrometheanError('internal', `the voice access agent exited (code ${code}) before it was ready; see its log lines above`));
      };
      const timer = setTimeout(() => {
        agent.off('exit', onExit);
        sub();
        reject(new PrometheanError('internal', 'the voice access agent did not report health within 60 s; see its log lines above'));
      }, 60_000);
      const sub = control.subscribe(`promethean.p.discord.t.${tenant}.health`, (env) => {
        if (env.src !== 'discord-voice-access') return;
        clearTimeout(timer);
        agent.off('exit', onExit);
        sub();
        resolve();
      });
      agent.once('exit', onExit);
    });
    control.publish(
      makeEnvelope('voice.control.join', { guild_id: standin.guildId, channel_id: standin.voiceChannelId, prefer_opus: true, self_mute: false, self_deaf: false }, { src: 'promethean-start', provider: 'discord', tenant }),
    );
    log(`voice: asked discord-voice-access to join ${standin.guildId}/${standin.voiceChannelId}`);
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    control.close();
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
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
