/**
 * The server process's wiring, the one place that picks concrete drivers from config: storage, the
 * hub (with the console's routes) and, as they land, SFU signalling. It holds no provider secret:
 * providers.yml is read with credentials left unresolved. `server/src/main.ts` runs it as the child
 * process that `promethean start` (the supervisor) spawns; tests call {@link startServer} directly.
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BusClient, makeEnvelope, type PayloadOf, type ProviderRegistry } from '@promethean/shared';
import { agentBusFrom } from '@promethean/shared/node';
import { startAuditLog } from './audit/index.ts';
import { createHub, type Hub } from './hub/index.ts';
import type { Principal } from './hub/index.ts';
import { ListenService } from './listen/service.ts';
import { mountListenRoutes } from './listen/routes.ts';
import { EvidencePolicies } from './evidence/policy.ts';
import { mountEvidenceRoutes } from './evidence/routes.ts';
import { RelayStreams, type RelayAnnouncement } from './listen/streams.ts';
import { createMediasoupSfu, createWeriftSfu, type Sfu, type SfuOptions } from './sfu/index.ts';
import { createStore, type Store } from './store/index.ts';
import { loadProvidersForStart } from './supervisor/providers.ts';
import { mountAuditRoutes } from './web/audit-routes.ts';
import { mountSearchRoutes } from './search/routes.ts';
import { mountTranscriptRoutes } from './transcripts/routes.ts';
import { SessionScopes } from './transcripts/session-scopes.ts';
import { startEmbedService, type RunningEmbedService } from './embed/service.ts';
import { loadModerationConfig, mountModerationRoutes, RegexRunner, RuleBook, startModeration, type RunningModeration } from './moderation/index.ts';
import { startTranscriptIndexer } from './workers/transcripts/index.ts';
import { parseAttachmentMaxBytes, startAttachmentIndexerInProcess } from './workers/attachments/in-process.ts';
import { parseRetention, startIndexer } from './workers/indexer/index.ts';
import { mountSessionRoutes } from './web/session-routes.ts';
import { mountVoiceRoutes, VoiceChannelsCache } from './web/voice-routes.ts';
import { mountConsole } from './web/console.ts';
import { DspOffload } from './dsp/offload.ts';
import { auditBotAction, BrainSwitchboard, mountBotRoutes } from './bot/index.ts';

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
  /** Which SFU driver runs the media: werift (pure TypeScript, the default) or mediasoup (C++ workers). */
  sfuDriver: 'werift' | 'mediasoup';
  /** SFU settings (ingest port, announced address, ICE port range). */
  sfu: Partial<SfuOptions>;
  /** The console's build (Vite output). */
  consoleDir: string;
  /** The origin browsers use when the hub is behind a proxy (`https://…`). */
  publicOrigin: string | undefined;
  /** Serve https/wss with this certificate and key (PEM). */
  tls: { cert: string; key: string } | undefined;
  /** Port of the loopback listener for agents when `host` is not loopback (0 = any). */
  agentPort: number;
}

/** Whether an address only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export const defaultServerOptions = {
  dataDir: join(PROJECT_ROOT, '.data'),
  host: '127.0.0.1',
  port: 8787,
  providersFile: join(PROJECT_ROOT, 'providers.yml'),
  databaseUrl: undefined,
  env: {},
  log: (line: string) => console.error(line),
  sfuDriver: 'werift' as const,
  sfu: {},
  consoleDir: join(PROJECT_ROOT, 'web', 'dist'),
  publicOrigin: undefined,
  tls: undefined,
  agentPort: 0,
} satisfies Partial<ServerOptions>;

export interface Server {
  hub: Hub;
  store: Store;
  registry: ProviderRegistry;
  sfu: Sfu;
  streams: RelayStreams;
  listen: ListenService;
  /** The DSP offload scheduler: which runner (a console tab or the VAD worker) holds each stream's VAD. */
  dsp: DspOffload;
  /** A fresh one-time owner login link, stored before it is handed out. */
  loginLink(): Promise<string>;
  close(): Promise<void>;
}

export async function startServer(options: Partial<ServerOptions> = {}): Promise<Server> {
  const o: ServerOptions = { ...defaultServerOptions, ...options };
  const { registry } = await loadProvidersForStart(o.providersFile, o.env);
  const store = await createStore(o.databaseUrl ? { databaseUrl: o.databaseUrl } : { dataDir: join(o.dataDir, 'pglite') });
  const closers: (() => Promise<void> | void)[] = [() => store.close()];
  const closeAll = async () => {
    for (const c of closers.splice(0).reverse()) await c();
  };
  try {
    // The audit chain is keyed, and listens a crash left open are closed, before any listen can start.
    await startAuditLog(store, { dataDir: o.dataDir, log: o.log });
    // Watch rules: moderation.yml beside providers.yml (read-only over HTTP) plus the rules owners add.
    const moderationRules = new RuleBook(await loadModerationConfig(join(dirname(o.providersFile), 'moderation.yml')), store);
    const moderationRegex = new RegexRunner();
    let moderation: RunningModeration | undefined;
    let embed: RunningEmbedService | undefined;
    // Media runs in the SFU's own process, never on the hub's event loop.
    const sfu = o.sfuDriver === 'mediasoup' ? await createMediasoupSfu(o.sfu) : await createWeriftSfu(o.sfu);
    closers.push(() => sfu.close());
    const streams = new RelayStreams(sfu);
    closers.push(() => streams.close());
    let bus: BusClient | undefined;
    const voiceChannels = new VoiceChannelsCache();
    // The owners' brain switches (cephalon-voice / cephalon-social per guild), once the bus is up.
    let brains: BrainSwitchboard | undefined;
    const listen = new ListenService(
      streams,
      store,
      (info, count) => {
        try {
          bus?.publish(
            makeEnvelope('voice.listeners', { session_id: info.sessionId, guild_id: info.guildId, channel_id: info.channelId, count }, { src: 'server', provider: info.provider, tenant: info.tenant }),
          );
        } catch (error) {
          o.log(`listen: could not announce ${count} listeners of ${info.sessionId}: ${(error as Error).message}`);
        }
      },
      {},
      o.log,
    );
    /** Where a browser reaches the hub: the declared public origin, else this machine by name when the hub listens on every interface. */
    const publicBase = (): string => {
      if (o.publicOrigin) return new URL(o.publicOrigin).origin;
      if (o.host === '0.0.0.0' || o.host === '::') return `${o.tls ? 'https' : 'http'}://${hostname()}:${hub.port}`;
      return hub.httpUrl;
    };
    const loginLink = async (): Promise<string> => {
      const issued = hub.issueLoginToken();
      await issued.saved;
      return `${publicBase()}/login#token=${issued.token}`;
    };
    // The DSP offload scheduler is the hub's `dsp:` grant check; it announces leases on the bus below.
    const dsp = new DspOffload();
    closers.push(() => dsp.close());
    const hub: Hub = await createHub({
      dsp,
      dataDir: o.dataDir,
      host: o.host,
      port: o.port,
      writeRuntimeFile: true,
      tokenPersistence: store,
      publicOrigin: o.publicOrigin,
      tls: o.tls,
      agentListener: isLoopback(o.host) ? undefined : { host: '127.0.0.1', port: o.agentPort },
      mount: (app, ctx) => {
        mountListenRoutes(app, ctx, listen);
        mountAuditRoutes(app, ctx, store);
        mountEvidenceRoutes(app, ctx, { policies: new EvidencePolicies(store), store, streams });
        mountSessionRoutes(app, ctx, { store, hub: () => hub, listen, publicBase, defaultTenant: 'demo' });
        mountVoiceRoutes(app, ctx, { store, bus: () => bus, channels: voiceChannels });
        // The bot panel: kill switch and "say this" (POST /api/bot/stop|say), brain switches (GET/PUT /api/bot/brains); on record first.
        mountBotRoutes(app, ctx, { brains: () => brains, bus: () => bus, audit: store, voiceSession: (id) => streams.session(id) });
        // GET /api/search: exact phrase, and semantic while the embedder process is connected.
        mountSearchRoutes(app, ctx, { store, semantic: () => embed?.semantic });
        // GET /api/sessions/:id/transcripts (history), DELETE /api/transcripts/speakers/:user (owners, on record first).
        mountTranscriptRoutes(app, ctx, { store, scopes: new SessionScopes(streams, store, {}, o.log), log: o.log });
        mountModerationRoutes(app, ctx, { store, rules: moderationRules, regex: moderationRegex, publish: (flag) => moderation?.matcher.publishFlag(flag) });
        // `promethean login`: the operator (who can read the agent key) asks for a fresh link.
        app.post('/api/login-link', async (c) => {
          const principal = await ctx.authenticateRequest(c);
          if (!principal) return c.json({ error: { code: 'unauthenticated', message: 'the hub key is needed to mint a login link' } }, 401);
          if (principal.role !== 'agent' || principal.agent !== undefined) return c.json({ error: { code: 'forbidden', message: 'only the hub key (the operator) may mint a login link' } }, 403);
          return c.json({ link: await loginLink() });
        });
        mountConsole(app, o.consoleDir);
      },
      // A subscription that can carry voice is a listen: on record before it is confirmed.
      beforeSubscribe: (principal, pattern) => auditListen(store, principal, pattern),
      // A session's kill switch or "say this": on record before the hub delivers it.
      beforePublish: (principal, env, scope) => auditBotAction(store, principal, env, scope),
    });
    closers.push(() => hub.close());
    // The server's own bus client: relay announcements in, listener counts out.
    bus = new BusClient({ url: hub.url, token: (await readFile(hub.agentKeyFile, 'utf8')).trim() });
    const b = bus;
    closers.push(() => b.close());
    // Listeners end (and are recorded) while the bus can still announce the new counts.
    closers.push(() => listen.close());
    await bus.connect();
    const ready = bus.subscribe('promethean.p.*.t.*.voice.relay.streams', (env) => {
      const p = env.payload as Omit<RelayAnnouncement, 'provider' | 'tenant'>;
      streams.apply({ ...p, provider: env.provider, tenant: env.tenant }).catch((error: unknown) => o.log(`sfu: could not apply the relay streams of ${p.session_id}: ${(error as Error).message}`));
    });
    await ready.ready;
    const channelsSub = bus.subscribe('promethean.p.*.t.*.voice.channels', (env) => voiceChannels.set(env.tenant, env.payload as PayloadOf<'voice.channels'>));
    await channelsSub.ready;
    await dsp.attach(bus);
    const board = new BrainSwitchboard(store, bus, { log: o.log });
    closers.push(() => board.close());
    await board.start();
    brains = board;
    // The message indexer shares the server's store. On PGlite (single-process) it must run in
    // this process; with PostgreSQL it could run as its own worker (workers/indexer/main.ts), but
    // running it here keeps one layout for both. It holds no credential: it reads events from the
    // bus and asks the REST agent for history through rest.request.
    const indexer = await startIndexer(agentBusFrom(bus), store, { retentionDays: parseRetention(o.env.PROMETHEAN_INDEXER_RETENTION) });
    closers.push(() => indexer.stop());
    await indexer.ready;
    // The attachment indexer shares the server's store too. Tokenless: it fetches through the REST
    // agents' /media with the proxy client key; the supervisor names both in <dataDir>/rest-proxies.json.
    const attachmentIndexer = startAttachmentIndexerInProcess(agentBusFrom(bus), store, { dataDir: o.dataDir, maxBytes: parseAttachmentMaxBytes(o.env.PROMETHEAN_ATTACHMENT_MAX_BYTES) });
    closers.push(() => attachmentIndexer.stop());
    await attachmentIndexer.ready;
    // Transcripts (from the STT worker) are stored here for the same reason, with their own retention.
    const transcripts = startTranscriptIndexer(agentBusFrom(bus), store, { retentionDays: parseRetention(o.env.PROMETHEAN_TRANSCRIPT_RETENTION, 'PROMETHEAN_TRANSCRIPT_RETENTION') });
    closers.push(() => transcripts.stop());
    await transcripts.ready;
    // Semantic search: vectors from the message-embedder process are stored here; query vectors are
    // asked of it over the bus (no model in this process: a model run would block the hub).
    const embedService = startEmbedService(agentBusFrom(bus), store);
    embed = embedService;
    closers.push(() => embedService.stop());
    await embedService.ready;
    // Watch rules on final transcripts; semantic rules ask the same embedder over the bus.
    const runningModeration = startModeration(agentBusFrom(bus), store, {
      rules: moderationRules,
      regexRunner: moderationRegex,
      sessions: (provider, tenant, sessionId) => {
        const s = streams.session(sessionId);
        return s && s.provider === provider && s.tenant === tenant ? { guild_id: s.guildId, channel_id: s.channelId } : undefined;
      },
      embedder: embedService.embedder,
    });
    moderation = runningModeration;
    closers.push(() => runningModeration.stop());
    await runningModeration.ready;
    o.log(`sfu: ${sfu.driver}, RTP ingest udp://${sfu.ingest.host}:${sfu.ingest.port}`);
    let closing: Promise<void> | undefined;
    return {
      hub,
      store,
      registry,
      sfu,
      streams,
      listen,
      dsp,
      loginLink,
      close() {
        closing ??= closeAll();
        return closing;
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** Whether a subscription pattern can carry voice audio (and so is a listen that must be audited). */
export function carriesVoice(pattern: string): boolean {
  const intent = pattern.split('.').slice(5);
  if (intent.length === 0) return pattern.split('.').includes('>');
  const [a, b] = intent;
  return (a === 'voice' || a === '*' || a === '>') && (b === undefined || b === 'audio' || b === '*' || b === '>');
}

/**
 * A bus subscription that can carry voice audio is a listen: written to the audit log (who — the
 * session id and role —, which pattern, the session's guild and channel scope). Resolves once
 * recorded; undefined when the pattern carries no voice.
 */
export function auditListen(store: Store, principal: Principal, pattern: string): Promise<void> | undefined {
  if (!carriesVoice(pattern)) return undefined;
  const tokens = pattern.split('.');
  const concrete = (t: string | undefined) => (t && t !== '*' && t !== '>' ? t : undefined);
  // A listen across providers or tenants (an agent's) is recorded under promethean/system.
  const provider = concrete(tokens[2]);
  const tenant = principal.tenant ?? concrete(tokens[4]);
  const scoped = provider !== undefined && tenant !== undefined;
  return store
    .appendAudit({
      provider: scoped ? provider : 'promethean',
      tenant: scoped ? tenant : 'system',
      guild_id: principal.guild ?? null,
      channel_id: principal.channel ?? null,
      actor: principal.sid ? `session:${principal.sid}` : principal.role,
      action: 'listen',
      detail: JSON.stringify({ pattern, role: principal.role }),
    })
    .then(() => undefined);
}
