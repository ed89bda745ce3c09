/** The HTTP server that carries both the REST API (`/api/...`) and the main gateway (WebSocket upgrade). */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { WebSocketServer } from 'ws';
import { handleRest } from '../rest/routes.ts';
import type { RestContext } from '../rest/routes.ts';
import type { VoiceServer } from '../voice/server.ts';
import type { World } from '../world.ts';
import { handleCdn } from '../cdn/routes.ts';
import type { CdnContext } from '../cdn/routes.ts';
import { PresenceLog } from './presence.ts';
import { wireTextDispatch } from '../text/dispatch.ts';
import type { StandinText } from '../text/text.ts';
import { GatewaySession, Intent } from './session.ts';
import type { GatewayContext } from './session.ts';

export interface GatewayServerOptions {
  host: string;
  port: number;
  heartbeatIntervalMs: number;
  /** Host name put in VOICE_SERVER_UPDATE's endpoint (the certificate covers localhost and 127.0.0.1). */
  voiceEndpointHost: string;
  /** The text world (routes, attachments, rate limits, message dispatches). */
  text?: StandinText;
}

export class GatewayServer {
  readonly rest: RestContext;
  readonly cdn: CdnContext;
  readonly gateway: GatewayContext;
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  readonly #sessions = new Set<GatewaySession>();
  readonly #host: string;
  #closed = false;

  private constructor(http: Server, world: World, voice: VoiceServer, options: GatewayServerOptions, log: (m: string) => void) {
    this.#http = http;
    this.#host = options.host;
    const text = options.text;
    this.rest = { world, gatewayUrl: () => this.gatewayUrl, counters: { requests: 0, notFound: 0, unauthorized: 0 }, ...(text ? { text } : {}) };
    this.gateway = {
      world,
      voice,
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      voiceEndpoint: () => `${options.voiceEndpointHost}:${voice.port}`,
      gatewayUrl: () => this.gatewayUrl,
      resumable: new Map(),
      counters: { connections: 0, malformed: 0, unknownOps: 0, resumes: 0, internalErrors: 0 },
      presence: new PresenceLog(),
      relayPresence: (from, d) => {
        for (const s of this.#sessions) if (s !== from && s.user && s.open && s.has(Intent.GuildPresences)) s.dispatch('PRESENCE_UPDATE', d);
      },
      log: (m) => log(`[gateway] ${m}`),
      ...(text ? { disallowedIntents: () => (text.options.messageContentIntent ? 0 : Intent.MessageContent) } : {}),
    };
    this.cdn = { world, counters: { served: 0, notFound: 0, badRequest: 0 } };
    http.on('request', (req, res) => {
      if (text?.cdn.handle(req, res)) return;
      if (!handleCdn(this.cdn, req, res)) handleRest(this.rest, req, res);
    });
    this.#wss = new WebSocketServer({ server: http, maxPayload: 1 << 20 });
    this.#wss.on('connection', (ws) => {
      this.gateway.counters.connections++;
      // Sessions gone longer than the resume window can no longer be resumed: forget them (bounded map).
      for (const [id, s] of this.gateway.resumable) if (!s.receiving) this.gateway.resumable.delete(id);
      const session = new GatewaySession(this.gateway, ws);
      this.#sessions.add(session);
      ws.on('close', () => this.#sessions.delete(session));
    });
    if (text) wireTextDispatch(text, () => this.gateway.resumable.values());
    world.on('voiceStateUpdate', (state) => this.broadcast('VOICE_STATE_UPDATE', world.voiceStatePayload(state)));
    // GUILD_MEMBER_ADD needs the privileged GUILD_MEMBERS intent.
    world.on('memberAdd', (user) => this.broadcast('GUILD_MEMBER_ADD', { guild_id: world.guildId, ...world.memberPayload(user) }, Intent.GuildMembers));
  }

  static async start(world: World, voice: VoiceServer, options: GatewayServerOptions, log: (m: string) => void): Promise<GatewayServer> {
    const http = createServer();
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port, options.host, () => resolve());
    });
    return new GatewayServer(http, world, voice, options, log);
  }

  get port(): number {
    const address = this.#http.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  get gatewayUrl(): string {
    return `ws://${this.#host}:${this.port}/gateway`;
  }

  /** REST base for `new Client({ rest: { api } })`. */
  get restApi(): string {
    return `http://${this.#host}:${this.port}/api`;
  }

  /** CDN base for `new Client({ rest: { cdn } })`: avatars at `${cdnBase}/avatars/{user}/{hash}.png`. */
  get cdnBase(): string {
    return `http://${this.#host}:${this.port}`;
  }

  /** Presences the bots sent (Identify and op 3). */
  get presence(): PresenceLog {
    return this.gateway.presence;
  }

  /** Dispatches an event to every identified gateway session (that asked for `intent`, when given). */
  broadcast(t: string, d: unknown, intent?: number): void {
    for (const s of this.#sessions) if (s.user && s.open && (intent === undefined || s.has(intent))) s.dispatch(t, d);
  }

  sessions(): GatewaySession[] {
    return [...this.#sessions];
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of this.#wss.clients) c.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    this.#http.closeAllConnections();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }
}
