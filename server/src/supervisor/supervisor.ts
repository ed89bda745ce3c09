/**
 * The supervisor behind `promethean start`: a small process that serves nothing on the network. It
 * reads providers.yml with its own environment (the only place besides the access agents where a
 * provider secret may be), spawns the server (hub, storage, console, SFU signalling), the workers and
 * each access agent as child processes with exactly the environment each needs, restarts a crashed
 * child with backoff, and publishes its children's health on the bus. The Discord stand-in is its own
 * program, started only when no Discord credentials are configured; nothing here imports it.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BusClient, PrometheanError, makeEnvelope, voicePayloads, type Envelope, type ProviderRegistry } from '@promethean/shared';
import { AgentRuntime, agentBusFrom, loadManifest } from '@promethean/shared/node';
import { issueAgentKey } from '../hub/agent-keys.ts';
import { SupervisedChild, type ChildHealth, type ChildMessage, type ChildSpec, type SupervisedChildOptions } from './child.ts';
import { loadProvidersForStart, settingsEnv } from './providers.ts';
import { joinWhenReady } from './join.ts';
import { writeStandinVoiceBrain } from './standin-brain.ts';
import { issueTextAccessKeys, textAccessAgents, textAccessSpec, writeRestProxyKey, type TextAccessAgent } from './text-access.ts';
import { ensureConsoleBuilt } from '../web/build.ts';
import { defaultLocalSpeechServerOptions } from '../speech/local-server.ts';
import { writeMediaProxies } from '../workers/attachments/proxies.ts';
import { modelCacheDir } from '../embed/manifest.ts';
import { onnxPath } from '../embed/server-embedder.ts';

export interface SupervisorOptions {
  /** Project root: where the programs live. */
  projectRoot: string;
  /** Data directory (PGlite, keys, runtime file). */
  dataDir: string;
  host: string;
  /** Hub port; 0 = any free port, kept across the server's restarts. */
  port: number;
  providersFile: string;
  /** The supervisor's own environment: the only one read for secrets and settings. */
  env: Readonly<Record<string, string | undefined>>;
  /** Progress lines. */
  log: (line: string) => void;
  /** Built-in stand-in flags (`--speaker NAME=FILE.wav`; DAVE, on unless `--no-dave`). */
  standinSpeakers: string[];
  standinDave: boolean;
  /** Start the voice access agent. */
  bridge: boolean;
  /** Start the local speech server (`promethean speech serve`) when its environment is installed. */
  speech: boolean;
  /** Restart policy for every child. */
  child: Partial<SupervisedChildOptions>;
  /** Seconds between the supervisor's health envelopes. */
  healthIntervalS: number;
  /** SFU driver and network settings passed to the server. */
  sfu: { driver?: 'werift' | 'mediasoup'; listenIp?: string; announcedAddress?: string; rtcPorts?: string; ingestPort?: number };
  /** Where browsers reach the hub when it is behind a proxy. */
  publicUrl: string | undefined;
  /** Build the console (Vite) before starting when its build is missing or stale. */
  buildConsole: boolean;
  /** Certificate and key files for https/wss. */
  tls: { certFile: string; keyFile: string } | undefined;
}

export const defaultSupervisorOptions = {
  host: '127.0.0.1',
  port: 8787,
  log: (line: string) => console.error(line),
  standinSpeakers: [] as string[],
  standinDave: true,
  bridge: true,
  speech: true,
  child: {},
  healthIntervalS: 5,
  sfu: {},
  publicUrl: undefined,
  buildConsole: true,
  tls: undefined,
} satisfies Partial<SupervisorOptions>;

/** What the server child reports once listening (its `ready` IPC message). */
export interface ServerReady {
  hub_url: string;
  http_url: string;
  key_file: string;
  port: number;
  /** The loopback listener agents use when the public one is elsewhere. */
  agent_port: number | null;
  /** Where the voice access agent sends each speaker's RTP (the SFU ingest). */
  sfu_ingest_host: string;
  sfu_ingest_port: number;
}

/** What the stand-in program reports once listening. */
export interface StandinReady {
  rest_api: string;
  /** Where its avatar images are served, as Discord's CDN serves them. */
  cdn_base: string;
  cert_path: string;
  guild_id: string;
  voice_channel_id: string;
  port: number;
  speakers: string[];
}

/** The demo asker's question ("Hey Promethean, what colour is the sky?"), said now and then in the stand-in. */
const DEMO_ASKER = 'test/fixtures/audio/dana_question_22k.wav';
/** Seconds the demo's fixture speakers pause between passes while live transcription runs. */
const DEMO_PAUSE_S = 8;

/** Most voice sessions the supervisor remembers to announce again to a (re)started worker. */
const MAX_KNOWN_SESSIONS = 1024;

/** Variables that point access agents at a Discord-compatible endpoint; passed to access agents only. */
const DISCORD_ENDPOINT_VARS = ['DISCORD_API_BASE', 'DISCORD_CDN_BASE', 'NODE_EXTRA_CA_CERTS'] as const;

export class Supervisor {
  readonly options: SupervisorOptions;
  readonly children = new Map<string, SupervisedChild>();
  registry: ProviderRegistry | undefined;
  server: ServerReady | undefined;
  standin: StandinReady | undefined;
  /** The local speech server's OpenAI-compatible base URL, once it is ready. */
  speechUrl: string | undefined;
  #runtime: AgentRuntime | undefined;
  #bus: BusClient | undefined;
  #closing: Promise<void> | undefined;
  #order: string[] = [];
  /** Agent id → its key file. */
  readonly #keys = new Map<string, string>();
  /** `provider/tenant` → the REST proxy's base URL (`…/api`), once its agent is ready. */
  readonly restProxies = new Map<string, string>();
  /** The proxy client key file (`<data dir>/keys/rest-proxy.key`). */
  restProxyKeyFile: string | undefined;
  #textAgents: TextAccessAgent[] = [];
  /** cephalon-voice's file when the stand-in runs: cephalon.yml plus the stand-in's guild turned on. */
  #standinVoiceBrain: string | undefined;
  /**
   * Voice sessions the voice access agent reported connected (at most {@link MAX_KNOWN_SESSIONS}),
   * announced again whenever a worker (re)starts: a worker learns a session's guild only from
   * `voice.state.connected`, and the speech workers start once the speech server is up, often
   * after the join.
   */
  readonly #connectedSessions = new Map<string, { provider: string; tenant: string; guild_id: string; channel_id: string; session_id: string }>();

  constructor(options: Partial<SupervisorOptions> & Pick<SupervisorOptions, 'projectRoot' | 'dataDir' | 'providersFile' | 'env'>) {
    this.options = { ...defaultSupervisorOptions, ...options };
  }

  /** Starts every child in order; on failure stops what was started and rethrows. */
  async start(): Promise<void> {
    const o = this.options;
    try {
      const { registry, missingCredentials } = await loadProvidersForStart(o.providersFile, o.env);
      this.registry = registry;
      o.log(`config: ${o.providersFile} — ${registry.tenants.map((t) => `${t.provider}/${t.id}`).join(', ')}`);
      o.log(o.env.DATABASE_URL ? 'storage: PostgreSQL (DATABASE_URL)' : `storage: PGlite in ${join(o.dataDir, 'pglite')}`);

      if (o.buildConsole) await ensureConsoleBuilt(join(o.projectRoot, 'web'), o.log);
      await this.#issueKeys();
      await this.#startServer(settingsEnv(await readFile(o.providersFile, 'utf8'), registry, o.env));
      await this.#connectBus();
      await this.#startWorker('mixer', join(o.projectRoot, 'server/src/workers/mixer/main.ts'));
      await this.#startWorker('vad', join(o.projectRoot, 'server/src/workers/vad/main.ts'));
      // Semantic search: the embedder holds the model, the server stores its vectors.
      const models = modelCacheDir(o.env);
      if (existsSync(onnxPath(models))) await this.#startWorker('message-embedder', join(o.projectRoot, 'server/src/workers/embedder/main.ts'), { PROMETHEAN_MODELS_DIR: models });
      else o.log(`embedder: all-MiniLM-L6-v2 is not installed in ${models} (bash scripts/install-models.sh) — semantic search off`);
      const endpoint: Record<string, string> = {};
      for (const name of DISCORD_ENDPOINT_VARS) if (o.env[name]) endpoint[name] = o.env[name]!;
      if (missingCredentials.length > 0) {
        o.log(`discord: no credentials (${missingCredentials.join(', ')} unset) — starting the built-in Discord stand-in`);
        const standin = await this.#startStandin();
        endpoint.DISCORD_API_BASE = standin.rest_api;
        endpoint.DISCORD_CDN_BASE = standin.cdn_base;
        endpoint.NODE_EXTRA_CA_CERTS = standin.cert_path;
      }
      // After the stand-in: cephalon-voice's file then turns on the stand-in's guild (standin-brain.ts).
      if (o.speech) this.#startSpeech();
      else o.log('speech: off (--no-speech): no live transcripts, spoken replies or bot brains');
      if (o.bridge) await this.#startBridge(registry, missingCredentials.length > 0, endpoint);
      await this.#startTextAccess(missingCredentials.length > 0, endpoint, settingsEnv(await readFile(o.providersFile, 'utf8'), registry, o.env));
      this.#startHealth();
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /** A fresh one-time owner login link, minted by the server. */
  async loginLink(): Promise<string> {
    const server = this.children.get('server');
    if (!server) throw new PrometheanError('unavailable', 'the server is not running');
    const reply = await request(server, { type: 'login-link' }, 'login-link', 10_000);
    return String(reply.link);
  }

  health(): ChildHealth[] {
    return this.#order.map((n) => this.children.get(n)!.health());
  }

  /** Stops every child in reverse start order. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#runtime?.stop();
      this.#bus?.close();
      for (const name of [...this.#order].reverse()) await this.children.get(name)!.stop();
    })();
    return this.#closing;
  }

  #add(spec: ChildSpec): SupervisedChild {
    const child = new SupervisedChild(spec, { ...this.options.child, log: this.options.log }, this.options.env);
    this.children.set(spec.name, child);
    this.#order.push(spec.name);
    return child;
  }

  async #startServer(settings: Record<string, string>): Promise<void> {
    const o = this.options;
    const env: Record<string, string> = {
      ...settings,
      PROMETHEAN_DATA_DIR: o.dataDir,
      PROMETHEAN_HOST: o.host,
      PROMETHEAN_PORT: String(o.port),
      PROMETHEAN_PROVIDERS_FILE: o.providersFile,
      ...(o.env.DATABASE_URL ? { DATABASE_URL: o.env.DATABASE_URL } : {}),
      // the in-process indexers' settings (no secrets)
      ...Object.fromEntries(
        ['PROMETHEAN_INDEXER_RETENTION', 'PROMETHEAN_TRANSCRIPT_RETENTION', 'PROMETHEAN_ATTACHMENT_MAX_BYTES', 'PROMETHEAN_MODELS_DIR']
          .filter((k) => o.env[k] !== undefined)
          .map((k) => [k, o.env[k]!]),
      ),
      ...(o.sfu.driver ? { PROMETHEAN_SFU_DRIVER: o.sfu.driver } : {}),
      // mediasoup's own variable: where its C++ worker binary is (scripts/build-mediasoup-worker.sh).
      ...(o.env.MEDIASOUP_WORKER_BIN ? { MEDIASOUP_WORKER_BIN: o.env.MEDIASOUP_WORKER_BIN } : {}),
      ...(o.sfu.listenIp ? { PROMETHEAN_SFU_LISTEN_IP: o.sfu.listenIp } : {}),
      ...(o.sfu.announcedAddress ? { PROMETHEAN_SFU_ANNOUNCED_ADDRESS: o.sfu.announcedAddress } : {}),
      ...(o.sfu.rtcPorts ? { PROMETHEAN_SFU_RTC_PORTS: o.sfu.rtcPorts } : {}),
      ...(o.sfu.ingestPort !== undefined ? { PROMETHEAN_SFU_INGEST_PORT: String(o.sfu.ingestPort) } : {}),
      ...(o.publicUrl ? { PROMETHEAN_PUBLIC_URL: o.publicUrl } : {}),
      ...(o.tls ? { PROMETHEAN_TLS_CERT: o.tls.certFile, PROMETHEAN_TLS_KEY: o.tls.keyFile } : {}),
    };
    const child = this.#add({ name: 'server', role: 'server', script: join(o.projectRoot, 'server/src/main.ts'), args: [], env, cwd: o.projectRoot });
    const ready = parseServerReady(await child.start());
    this.server = ready;
    // A restarted server listens where the first one did, so every client's reconnect finds it.
    child.update({
      env: {
        ...env,
        PROMETHEAN_PORT: String(ready.port),
        PROMETHEAN_SFU_INGEST_PORT: String(ready.sfu_ingest_port),
        ...(ready.agent_port !== null ? { PROMETHEAN_AGENT_PORT: String(ready.agent_port) } : {}),
      },
    });
    child.on('ready', (m) => {
      this.server = parseServerReady(m);
      o.log(`server: ready again at ${this.server.http_url}`);
    });
    o.log(`hub: ${ready.hub_url} (runtime file ${join(o.dataDir, 'runtime.json')})`);
  }

  /**
   * Every agent gets its own key (rotated at each start), allowed to publish what its manifest
   * declares; `tap` gets a read-only one. The hub learns them from keys/agents.json.
   */
  async #issueKeys(): Promise<void> {
    const o = this.options;
    const outputs = async (file: string) => (await loadManifest(join(o.projectRoot, file))).outputs;
    this.#keys.set('discord-voice-access', await issueAgentKey(o.dataDir, 'discord-voice-access', { outputs: await outputs('bridge/agent.yml'), readonly: false }));
    this.#keys.set('mixer', await issueAgentKey(o.dataDir, 'mixer', { outputs: await outputs('server/src/workers/mixer/agent.yml'), readonly: false }));
    this.#keys.set('vad', await issueAgentKey(o.dataDir, 'vad', { outputs: await outputs('server/src/workers/vad/agent.yml'), readonly: false }));
    this.#keys.set('message-embedder', await issueAgentKey(o.dataDir, 'message-embedder', { outputs: await outputs('server/src/workers/embedder/agent.yml'), readonly: false }));
    this.#keys.set('stt', await issueAgentKey(o.dataDir, 'stt', { outputs: await outputs('server/src/workers/stt/agent.yml'), readonly: false }));
    this.#keys.set('tts', await issueAgentKey(o.dataDir, 'tts', { outputs: await outputs('server/src/workers/tts/agent.yml'), readonly: false }));
    this.#keys.set('cephalon-voice', await issueAgentKey(o.dataDir, 'cephalon-voice', { outputs: await outputs('server/src/workers/cephalon-voice/agent.yml'), readonly: false }));
    this.#keys.set('cephalon-social', await issueAgentKey(o.dataDir, 'cephalon-social', { outputs: await outputs('server/src/workers/cephalon-social/agent.yml'), readonly: false }));
    this.#keys.set('supervisor', await issueAgentKey(o.dataDir, 'supervisor', { outputs: ['health', 'error', 'voice.control.join'], readonly: false }));
    await issueAgentKey(o.dataDir, 'tap', { outputs: [], readonly: true });
    this.#textAgents = textAccessAgents(this.registry!, o.projectRoot);
    for (const [id, file] of await issueTextAccessKeys(o.dataDir, this.#textAgents)) this.#keys.set(id, file);
    this.restProxyKeyFile = await writeRestProxyKey(o.dataDir);
    o.log(`keys: one per agent in ${join(o.dataDir, 'keys')} (tap's is read-only)`);
  }

  async #connectBus(): Promise<void> {
    const server = this.server!;
    const key = (await readFile(this.#keys.get('supervisor')!, 'utf8')).trim();
    this.#bus = new BusClient({ url: server.hub_url, token: key });
    await this.#bus.connect();
    await this.#bus.subscribe('promethean.p.*.t.*.voice.state.connected', (env) => this.#trackSession(env)).ready;
  }

  #trackSession(env: Envelope): void {
    const r = voicePayloads['voice.state.connected'].safeParse(env.payload);
    if (!r.success) return; // the hub checked the schema; nothing to remember from anything else
    const key = `${env.provider}/${env.tenant}/${r.data.session_id}`;
    this.#connectedSessions.delete(key);
    if (r.data.status !== 'connected') return;
    if (this.#connectedSessions.size >= MAX_KNOWN_SESSIONS) this.#connectedSessions.delete(this.#connectedSessions.keys().next().value!);
    this.#connectedSessions.set(key, { provider: env.provider, tenant: env.tenant, guild_id: r.data.guild_id, channel_id: r.data.channel_id, session_id: r.data.session_id });
  }

  /**
   * Asks the voice access agent to announce its connected sessions again: a join of a session it
   * holds connected only re-publishes `voice.state.connected` (and the member list).
   */
  #announceSessions(): void {
    for (const s of this.#connectedSessions.values()) {
      this.#bus?.publish(makeEnvelope('voice.control.join', { guild_id: s.guild_id, channel_id: s.channel_id, session_id: s.session_id, prefer_opus: true, self_mute: false, self_deaf: false }, { src: 'supervisor', provider: s.provider, tenant: s.tenant }));
    }
  }

  async #startWorker(name: string, script: string, extraEnv: Record<string, string> = {}): Promise<void> {
    const o = this.options;
    const server = this.server!;
    const child = this.#add({
      name,
      role: 'worker',
      script,
      args: [],
      env: { PROMETHEAN_HUB_URL: server.hub_url, PROMETHEAN_AGENT_TOKEN_FILE: this.#keys.get(name) ?? server.key_file, ...extraEnv },
      cwd: o.projectRoot,
    });
    // ready = subscribed: a worker started (or restarted) after a join learns the sessions now
    child.on('ready', () => this.#announceSessions());
    await child.start();
    o.log(`worker: ${name} (pid ${child.pid})`);
  }

  /** The local speech server: no secret, no bus key; skipped with a line when it is not installed. */
  #startSpeech(): void {
    const o = this.options;
    const venv = o.env.PROMETHEAN_SPEECH_VENV ?? defaultLocalSpeechServerOptions.venv;
    if (!existsSync(join(venv, 'bin', 'python'))) {
      o.log(`speech: not installed (${venv}); run bash scripts/install-speech.sh — speech server off`);
      return;
    }
    const env: Record<string, string> = { PROMETHEAN_SPEECH_VENV: venv, PROMETHEAN_SPEECH_PORT: o.env.PROMETHEAN_SPEECH_PORT ?? '0' };
    if (o.env.PROMETHEAN_MODELS_DIR) env.PROMETHEAN_MODELS_DIR = o.env.PROMETHEAN_MODELS_DIR;
    const child = this.#add({ name: 'speech', role: 'worker', script: join(o.projectRoot, 'server/src/speech/main.ts'), args: [], env, cwd: o.projectRoot });
    // Not awaited: nothing else in the start sequence needs it, and loading Python takes seconds.
    child.on('ready', (m) => {
      this.speechUrl = String(m.url);
      // A restarted speech server listens where the first one did.
      if (typeof m.port === 'number') child.update({ env: { ...env, PROMETHEAN_SPEECH_PORT: String(m.port) } });
      o.log(`speech: ${this.speechUrl} (pid ${child.pid})`);
      // The speech workers need the server's URL: started once it is known (a restarted speech server
      // listens at the same one, so they keep working).
      const speechEnv = { PROMETHEAN_SPEECH_URL: this.speechUrl, PROMETHEAN_SPEECH_CONFIG: join(o.projectRoot, 'speech.yml') };
      const cephalon = join(dirname(o.providersFile), 'cephalon.yml');
      const workers: Array<[string, Record<string, string>]> = [
        ['stt', speechEnv],
        ['tts', speechEnv],
        // the text brain: replies only in guilds cephalon.yml turns on
        // the voice brain: answers spoken questions addressed to the bot where cephalon.yml turns it on
        ['cephalon-voice', { ...speechEnv, ...(this.#standinVoiceBrain ? { PROMETHEAN_CEPHALON_FILE: this.#standinVoiceBrain } : existsSync(cephalon) ? { PROMETHEAN_CEPHALON_FILE: cephalon } : {}) }],
        ['cephalon-social', { ...speechEnv, ...(existsSync(cephalon) ? { PROMETHEAN_CEPHALON_FILE: cephalon } : {}), ...(o.env.DATABASE_URL ? { DATABASE_URL: o.env.DATABASE_URL } : {}) }],
      ];
      for (const [name, env] of workers) {
        if (this.children.has(name) || this.#closing) continue;
        this.#startWorker(name, join(o.projectRoot, `server/src/workers/${name}/main.ts`), env).catch((e: unknown) => o.log(`${name}: did not start: ${(e as Error).message}`));
      }
    });
    child.start().catch((e: unknown) => o.log(`speech: did not start: ${(e as Error).message}`));
  }

  async #startStandin(): Promise<StandinReady> {
    const o = this.options;
    // the speech server will run (#startSpeech): the asker and the voice brain are useful only then
    const speech = o.speech && existsSync(join(o.env.PROMETHEAN_SPEECH_VENV ?? defaultLocalSpeechServerOptions.venv, 'bin', 'python'));
    const args = [
      ...o.standinSpeakers.flatMap((s) => ['--speaker', s]),
      // the demo: beside the speakers, one asks the bot a question now and then (the voice brain answers)
      ...(speech && existsSync(join(o.projectRoot, DEMO_ASKER)) ? ['--ask', `dana=${join(o.projectRoot, DEMO_ASKER)}`] : []),
      // With live transcription on, the fixture speakers pause between passes so that one small
      // recogniser on a 2-core machine keeps up with them (and the asker's question is not dropped
      // from its queue behind a backlog); without speech they loop almost back to back.
      ...(speech ? ['--pause-s', String(DEMO_PAUSE_S)] : []),
      ...(o.standinDave ? [] : ['--no-dave']),
      '--data-dir',
      join(o.dataDir, 'standin'),
      '--quiet',
    ];
    const child = this.#add({ name: 'standin', role: 'standin', script: join(o.projectRoot, 'test/standin/src/main.ts'), args, env: {}, cwd: o.projectRoot });
    const ready = parseStandinReady(await child.start());
    this.standin = ready;
    child.update({ args: [...args, '--port', String(ready.port)] });
    o.log(`standin: ${ready.rest_api} — guild ${ready.guild_id}, voice channel ${ready.voice_channel_id}, speakers ${ready.speakers.join(', ')}`);
    const tenant = this.registry?.tenants.find((t) => t.provider === 'discord');
    if (speech && tenant) {
      const source = join(dirname(o.providersFile), 'cephalon.yml');
      try {
        this.#standinVoiceBrain = await writeStandinVoiceBrain({ source, target: join(o.dataDir, 'cephalon-standin.yml'), tenant: tenant.id, guildId: ready.guild_id });
        o.log(`voice brain: on in the stand-in's guild ${ready.guild_id} (${this.#standinVoiceBrain}); other guilds as cephalon.yml says`);
      } catch (error) {
        o.log(`voice brain: not turned on for the stand-in: ${(error as Error).message}`);
      }
    }
    return ready;
  }

  async #startBridge(registry: ProviderRegistry, useStandin: boolean, endpoint: Record<string, string>): Promise<void> {
    const o = this.options;
    const server = this.server!;
    const tenant = registry.tenants.find((t) => t.provider === 'discord');
    if (!tenant) throw new PrometheanError('bad_config', `${o.providersFile}: no discord tenant to run the voice access agent for`);
    // The access agent gets exactly its own credential variables, copied by name from providers.yml.
    const secrets: Record<string, string> = {};
    for (const { env } of Object.values(tenant.credentials)) secrets[env] = useStandin ? 'standin-fake-credential' : (o.env[env] ?? '');
    const env: Record<string, string> = {
      ...secrets,
      ...endpoint,
      PROMETHEAN_HUB_URL: server.hub_url,
      PROMETHEAN_AGENT_TOKEN_FILE: this.#keys.get('discord-voice-access')!,
      PROMETHEAN_SFU_INGEST: `${server.sfu_ingest_host}:${server.sfu_ingest_port}`,
      PROMETHEAN_PROVIDER: 'discord',
      PROMETHEAN_TENANT: tenant.id,
      PROMETHEAN_PROVIDERS_FILE: o.providersFile,
      BRIDGE_LOG_LEVEL: 'warn',
      // providers.yml's allow-list reads DISCORD_GUILD_ID; the stand-in's own guild must be admitted
      ...(o.env.DISCORD_GUILD_ID ? { DISCORD_GUILD_ID: o.env.DISCORD_GUILD_ID } : {}),
      ...(useStandin && this.standin ? { DISCORD_GUILD_ID: this.standin.guild_id } : {}),
    };
    const child = this.#add({ name: 'discord-voice-access', role: 'access', script: join(o.projectRoot, 'bridge/src/main.ts'), args: [], env, cwd: o.projectRoot });
    child.start().catch(() => undefined); // the bridge reports health on the bus, not over IPC
    o.log(`access agent: discord-voice-access (pid ${child.pid})`);
    const standin = this.standin;
    if (useStandin && standin) {
      const join = () => joinWhenReady(this.#bus!, tenant.id, { guildId: standin.guild_id, channelId: standin.voice_channel_id }, child, o.log);
      await join();
      // A restarted bridge starts with no voice connection: ask it to join again.
      child.on('spawn', () => {
        if (child.restarts > 0) join().catch((e: unknown) => o.log(`voice: rejoin after restart failed: ${(e as Error).message}`));
      });
    }
  }

  /** discord-rest and discord-gateway per Discord tenant (see text-access.ts); prints each proxy's URL. */
  async #startTextAccess(useStandin: boolean, endpoint: Record<string, string>, settings: Record<string, string>): Promise<void> {
    const o = this.options;
    const proxies: Promise<void>[] = [];
    for (const a of this.#textAgents) {
      const spec = textAccessSpec(a, { hubUrl: this.server!.hub_url, keyFile: this.#keys.get(a.id)!, proxyKeyFile: this.restProxyKeyFile!, providersFile: o.providersFile, useStandin, env: o.env, endpoint, standinGuildId: this.standin?.guild_id, settings }, o.projectRoot);
      const child = this.#add(spec);
      const started = child.start();
      if (a.kind === 'gateway') {
        started.catch(() => undefined); // reports on the bus (a missing intent is fatal health there)
        o.log(`access agent: ${a.id} (pid ${child.pid})`);
        continue;
      }
      // The proxies start side by side; start() waits for all of them to print their URLs.
      proxies.push(
        started.then((ready) => {
          const url = String(ready.proxy_url);
          this.restProxies.set(`${a.tenant.provider}/${a.tenant.id}`, url);
          // A restarted proxy listens where the first one did, so its clients' base URL stays valid.
          child.update({ env: { ...spec.env, PROMETHEAN_REST_PROXY_PORT: String(ready.port) } });
          o.log(`rest proxy (${a.tenant.provider}/${a.tenant.id}): ${url} — clients send "Authorization: Bot <key>" with the key in ${this.restProxyKeyFile}`);
        }),
      );
    }
    await Promise.all(proxies);
    // The attachment indexer in the server learns where the media paths are (and the key) from this file.
    if (this.restProxies.size > 0) await writeMediaProxies(o.dataDir, this.restProxies, this.restProxyKeyFile!);
  }

  #startHealth(): void {
    const runtime = new AgentRuntime({ id: 'supervisor', kind: 'supervisor', bus: agentBusFrom(this.#bus!), healthIntervalS: this.options.healthIntervalS, logLevel: 'silent' });
    this.#runtime = runtime;
    const update = () => {
      const down = this.health().filter((c) => c.status !== 'running');
      for (const c of this.health()) runtime.counters[`restarts.${c.name}`] = c.restarts;
      const reason = down.map((c) => `${c.name} ${c.status}${c.restart_in_ms !== null ? ` (restart in ${c.restart_in_ms} ms)` : ''}`).join('; ');
      if (down.length > 0 && runtime.state === 'RUNNING') runtime.setState('DEGRADED', reason);
      else if (down.length === 0 && runtime.state === 'DEGRADED') runtime.setState('RUNNING');
    };
    for (const child of this.children.values()) {
      child.on('stateChange', () => {
        update();
        if (runtime.state !== 'STOPPED' && runtime.state !== 'INIT') runtime.publishHealth();
      });
    }
    runtime.start();
    update();
  }
}

function parseServerReady(m: ChildMessage): ServerReady {
  const { hub_url, http_url, key_file, port, sfu_ingest_host, sfu_ingest_port } = m;
  const agent_port = typeof m.agent_port === 'number' ? m.agent_port : null;
  if (typeof hub_url !== 'string' || typeof http_url !== 'string' || typeof key_file !== 'string' || typeof port !== 'number' || typeof sfu_ingest_host !== 'string' || typeof sfu_ingest_port !== 'number') {
    throw new PrometheanError('internal', `the server's ready message is malformed: ${JSON.stringify(m)}`);
  }
  return { hub_url, http_url, key_file, port, agent_port, sfu_ingest_host, sfu_ingest_port };
}

function parseStandinReady(m: ChildMessage): StandinReady {
  const { rest_api, cdn_base, cert_path, guild_id, voice_channel_id, port, speakers } = m;
  if (typeof rest_api !== 'string' || typeof cdn_base !== 'string' || typeof cert_path !== 'string' || typeof guild_id !== 'string' || typeof voice_channel_id !== 'string' || typeof port !== 'number' || !Array.isArray(speakers)) {
    throw new PrometheanError('internal', `the stand-in's ready message is malformed: ${JSON.stringify(m)}`);
  }
  return { rest_api, cdn_base, cert_path, guild_id, voice_channel_id, port, speakers: speakers.map(String) };
}

let nextRequestId = 1;

/** One request/response over a child's IPC channel, paired by `id`. */
function request(child: SupervisedChild, message: ChildMessage, replyType: string, timeoutMs: number): Promise<ChildMessage> {
  const id = nextRequestId++;
  return new Promise((resolve, reject) => {
    const onMessage = (m: ChildMessage) => {
      if (m.type !== replyType || m.id !== id) return;
      cleanup();
      if (typeof m.error === 'string') reject(new PrometheanError('internal', m.error));
      else resolve(m);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new PrometheanError('timeout', `${child.spec.name} did not answer ${message.type} within ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
    };
    child.on('message', onMessage);
    if (!child.send({ ...message, id })) {
      cleanup();
      reject(new PrometheanError('unavailable', `${child.spec.name} is not running`));
    }
  });
}
