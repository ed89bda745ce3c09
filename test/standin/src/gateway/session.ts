/**
 * One main-gateway connection (v10, JSON, no compression): Hello, Identify → READY + GUILD_CREATE,
 * heartbeats, Resume → RESUMED, Request Guild Members, op 3 Presence Update (recorded, relayed to
 * sessions with the GUILD_PRESENCES intent) and op 4 Voice State Update, which answers
 * VOICE_STATE_UPDATE + VOICE_SERVER_UPDATE (or, with channel_id null, leaves).
 */
import { randomBytes } from 'node:crypto';
import { GatewayOp } from '@promethean/shared/providers/discord';
import type { RawData, WebSocket } from 'ws';
import type { StandinUser, World } from '../world.ts';
import type { VoiceServer } from '../voice/server.ts';
import { parsePresence } from './presence.ts';
import type { PresenceLog } from './presence.ts';

/** Gateway intent bits the stand-in looks at. */
export const Intent = { Guilds: 1 << 0, GuildMembers: 1 << 1, GuildVoiceStates: 1 << 7, GuildPresences: 1 << 8, GuildMessages: 1 << 9, MessageContent: 1 << 15 } as const;

/** Dispatches kept per session for replay on Resume (older ones cannot be resumed past). */
export const REPLAY_BUFFER = 4096;
/** How long a disconnected session keeps collecting dispatches for a Resume, ms. */
export const RESUME_WINDOW_MS = 60_000;

export interface GatewayContext {
  world: World;
  voice: VoiceServer;
  heartbeatIntervalMs: number;
  /** `host:port` put in VOICE_SERVER_UPDATE. */
  voiceEndpoint(): string;
  gatewayUrl(): string;
  /** Sessions that can be resumed, by session id. */
  resumable: Map<string, GatewaySession>;
  counters: { connections: number; malformed: number; unknownOps: number; resumes: number; internalErrors: number; replayed?: number };
  /** Presences received from bots (Identify `presence`, op 3). */
  presence: PresenceLog;
  /** Privileged intents the application may not use (Identify asking for one closes 4014). */
  disallowedIntents?: () => number;
  /** Sends PRESENCE_UPDATE to the other identified sessions that asked for GUILD_PRESENCES. */
  relayPresence(from: GatewaySession, d: unknown): void;
  log(message: string): void;
}

export class GatewaySession {
  sessionId = randomBytes(16).toString('hex');
  user: StandinUser | undefined;
  /** The intents bitfield sent in Identify. */
  intents = 0;
  #ws: WebSocket;
  #seq = 0;
  /** Recent dispatches, replayed on Resume (bounded by REPLAY_BUFFER). */
  #sent: { s: number; t: string; d: unknown }[] = [];
  /** When the socket closed (0 while open). */
  #closedAt = 0;
  readonly #ctx: GatewayContext;

  constructor(ctx: GatewayContext, ws: WebSocket) {
    this.#ctx = ctx;
    this.#ws = ws;
    this.#attach(ws);
  }

  #attach(ws: WebSocket): void {
    this.#ws = ws;
    ws.on('message', (data) => {
      try {
        this.#onMessage(data);
      } catch (error) {
        this.#ctx.counters.internalErrors++;
        this.#ctx.log(`gateway message handling failed: ${(error as Error).stack ?? String(error)}`);
      }
    });
    ws.on('error', () => undefined);
    ws.on('close', () => (this.#closedAt = Date.now()));
    this.#send({ op: GatewayOp.Hello, d: { heartbeat_interval: this.#ctx.heartbeatIntervalMs, _trace: ['["standin",{"micros":0}]'] }, s: null, t: null });
  }

  get open(): boolean {
    return this.#ws.readyState === 1;
  }

  #send(payload: unknown): void {
    if (this.#ws.readyState === 1) this.#ws.send(JSON.stringify(payload));
  }

  dispatch(t: string, d: unknown): void {
    this.#seq++;
    this.#sent.push({ s: this.#seq, t, d });
    if (this.#sent.length > REPLAY_BUFFER) this.#sent.splice(0, this.#sent.length - REPLAY_BUFFER);
    this.#send({ op: GatewayOp.Dispatch, t, s: this.#seq, d });
  }

  /** The last sequence number dispatched. */
  get seq(): number {
    return this.#seq;
  }

  /**
   * Whether dispatches should still go to this session: open, or closed less than RESUME_WINDOW_MS
   * ago and not taken over (they are kept for replay when the client resumes).
   */
  get receiving(): boolean {
    return this.user !== undefined && (this.#closedAt === 0 || Date.now() - this.#closedAt < RESUME_WINDOW_MS);
  }

  /** Cuts the connection without a close frame (as a network failure does); the session stays resumable. */
  drop(): void {
    this.#ws.terminate();
  }

  close(code: number, reason = ''): void {
    if (this.#ws.readyState <= 1) this.#ws.close(code, reason);
  }

  #onMessage(data: RawData): void {
    let packet: { op?: unknown; d?: unknown };
    try {
      packet = JSON.parse(Buffer.from(data as Buffer).toString('utf8')) as { op?: unknown; d?: unknown };
      if (typeof packet !== 'object' || packet === null || typeof packet.op !== 'number') throw new Error('no op');
    } catch {
      this.#ctx.counters.malformed++;
      return this.close(4002, 'Error while decoding payload.');
    }
    const d = (typeof packet.d === 'object' && packet.d !== null ? packet.d : {}) as Record<string, unknown>;
    switch (packet.op) {
      case GatewayOp.Heartbeat:
        return this.#send({ op: GatewayOp.HeartbeatAck });
      case GatewayOp.Identify:
        return this.#identify(d);
      case GatewayOp.Resume:
        return this.#resume(d);
      case GatewayOp.VoiceStateUpdate:
        return this.#voiceStateUpdate(d);
      case GatewayOp.RequestGuildMembers:
        return this.#requestMembers(d);
      case GatewayOp.PresenceUpdate:
        return this.#presenceUpdate(packet.d);
      default:
        this.#ctx.counters.unknownOps++;
        return this.close(4001, 'Unknown opcode.');
    }
  }

  #identify(d: Record<string, unknown>): void {
    if (this.user) return this.close(4005, 'Already authenticated.');
    if (typeof d.token !== 'string' || d.token.length === 0) return this.close(4004, 'Authentication failed.');
    const { world } = this.#ctx;
    const intents = typeof d.intents === 'number' && Number.isInteger(d.intents) ? d.intents : 0;
    if ((intents & (this.#ctx.disallowedIntents?.() ?? 0)) !== 0) return this.close(4014, 'Disallowed intent(s).');
    this.user = world.botForToken(d.token);
    this.intents = intents;
    const presence = d.presence === undefined || d.presence === null ? undefined : parsePresence(d.presence);
    if (presence) this.#ctx.presence.record({ ...presence, userId: this.user.id, source: 'identify', at: Date.now() });
    this.#ctx.resumable.set(this.sessionId, this);
    this.dispatch('READY', {
      v: 10,
      user: { ...world.userPayload(this.user), verified: true, mfa_enabled: false, email: null },
      user_settings: {},
      guilds: [{ id: world.guildId, unavailable: true }],
      session_id: this.sessionId,
      session_type: 'normal',
      resume_gateway_url: this.#ctx.gatewayUrl(),
      shard: [0, 1],
      application: { id: world.applicationId, flags: 0 },
      private_channels: [],
      presences: [],
      relationships: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: ['standin'],
      auth: {},
      _trace: ['["standin",{"micros":0}]'],
    });
    this.dispatch('GUILD_CREATE', world.guildPayload({ forUser: this.user.id, allMembers: this.has(Intent.GuildMembers) }));
  }

  #resume(d: Record<string, unknown>): void {
    const previous = typeof d.session_id === 'string' ? this.#ctx.resumable.get(d.session_id) : undefined;
    if (this.user || !previous || !previous.user || d.token === undefined) {
      this.#send({ op: GatewayOp.InvalidSession, d: false });
      return;
    }
    this.#ctx.counters.resumes++;
    // This connection takes the old session over: same id, user and sequence.
    this.sessionId = previous.sessionId;
    this.user = previous.user;
    this.intents = previous.intents;
    this.#seq = previous.#seq;
    this.#sent = previous.#sent;
    previous.user = undefined;
    previous.close(4000, 'session resumed on another connection');
    this.#ctx.resumable.set(this.sessionId, this);
    // Replay what the client missed (Discord sends the missed events, then RESUMED).
    const from = typeof d.seq === 'number' ? d.seq : 0;
    const oldest = this.#sent[0]?.s ?? this.#seq + 1;
    if (from < oldest - 1) {
      this.user = undefined;
      this.#send({ op: GatewayOp.InvalidSession, d: false });
      return;
    }
    for (const e of this.#sent) if (e.s > from) this.#send({ op: GatewayOp.Dispatch, t: e.t, s: e.s, d: e.d });
    this.#ctx.counters.replayed = (this.#ctx.counters.replayed ?? 0) + this.#sent.filter((e) => e.s > from).length;
    this.dispatch('RESUMED', { _trace: ['["standin",{"micros":0}]'] });
  }

  /** Whether Identify asked for `intent`. */
  has(intent: number): boolean {
    return (this.intents & intent) !== 0;
  }

  #presenceUpdate(raw: unknown): void {
    if (!this.user) return this.close(4003, 'Not authenticated.');
    const presence = parsePresence(raw);
    if (!presence) {
      this.#ctx.counters.malformed++;
      return this.close(4002, 'Error while decoding payload.');
    }
    this.#ctx.presence.record({ ...presence, userId: this.user.id, source: 'update', at: Date.now() });
    this.#ctx.relayPresence(this, { user: { id: this.user.id }, guild_id: this.#ctx.world.guildId, status: presence.status, activities: presence.activities, client_status: { web: presence.status } });
  }

  #voiceStateUpdate(d: Record<string, unknown>): void {
    const { world, voice } = this.#ctx;
    if (!this.user) return this.close(4003, 'Not authenticated.');
    if (d.guild_id !== world.guildId) return;
    const channelId = d.channel_id;
    if (channelId === null || channelId === undefined) {
      voice.revoke(this.user.id, true);
      world.setVoiceChannel(this.user.id, null, this.sessionId);
      return;
    }
    if (channelId !== world.voiceChannelId) return;
    if (world.voiceJoinRefusal !== undefined) return; // refused (no CONNECT, or full): Discord does not answer
    world.setVoiceChannel(this.user.id, world.voiceChannelId, this.sessionId, { selfMute: d.self_mute === true, selfDeaf: d.self_deaf === true });
    const token = voice.grant(this.user.id, this.sessionId);
    this.dispatch('VOICE_SERVER_UPDATE', { token, guild_id: world.guildId, endpoint: this.#ctx.voiceEndpoint() });
  }

  #requestMembers(d: Record<string, unknown>): void {
    const { world } = this.#ctx;
    if (d.guild_id !== world.guildId) return;
    const members = [...world.users.values()].map((u) => world.memberPayload(u));
    this.dispatch('GUILD_MEMBERS_CHUNK', { guild_id: world.guildId, members, chunk_index: 0, chunk_count: 1, not_found: [], nonce: d.nonce });
  }
}
