/**
 * `discord-voice-access`: the voice access agent. Consumes `voice.control.(join|leave|set-bitrate)`,
 * `voice.play.pcm.out`, `voice.play.opus` and `voice.listeners`; publishes `voice.state.connected`,
 * `voice.health` (every second per session), `voice.members` (who is in each session's channel) and
 * `voice.audio.pcm` (binary frames, PCM as attachment 0).
 */
import { VoiceConnectionStatus } from '@discordjs/voice';
import { voicePayloads, PrometheanError, type Envelope, type KnownIntent, type PayloadOf } from '@promethean/shared';
import type { z } from 'zod';
import type { AllowCheck } from './credentials.ts';
import type { VoiceGateway } from './discord/voice-gateway.ts';
import { VoiceMembersPublisher, type VoiceMembersPublisherOptions } from './members/members-publisher.ts';
import type { VoiceMemberSource } from './members/source.ts';
import { ListenerAnnouncer, type ListenerAnnouncerOptions, type PresenceSink } from './presence/listener-announcer.ts';
import type { OpusRelay } from './receive/relay.ts';
import { RelayAnnouncer, type RelayAnnouncerOptions } from './relay/announcer.ts';
import { RelayAnchorAnnouncer } from './relay/anchor-announcer.ts';
import type { RtpStreamEvent, SessionRelay } from './relay/index.ts';
import { PcmDemand } from './session/pcm-demand.ts';
import { PcmFrameEncoder } from './session/pcm-frame-encoder.ts';
import { pcmSamples, type PcmSend } from './session/pcm-publisher.ts';
import { TERMINAL_STATUSES, VoiceSession, type VoiceSessionOptions } from './session/voice-session.ts';

/**
 * The part of the shared agent runtime (`AgentRuntime`) this agent uses: subscriptions whose handler
 * throws become `error` envelopes, stamped publishing, and the lifecycle state.
 */
export interface AgentPort {
  subscribe(pattern: string, handler: (envelope: Envelope, attachments: Uint8Array[]) => void | Promise<void>): void;
  publish<I extends string>(intent: I, payload: I extends KnownIntent ? PayloadOf<I> : unknown, options: { provider: string; tenant: string; attachments?: readonly Uint8Array[] }): unknown;
  readonly state: string;
  setState(next: 'RUNNING' | 'DEGRADED', reason?: string): void;
  /** Adds to a named counter reported in the agent's health. */
  count(name: string, by?: number): void;
  readonly options: {
    bus: {
      readonly queueDepth?: number;
      /** Bytes the bus connection has not written yet (a lagging hub): the PCM publisher's bound. */
      readonly bufferedBytes?: number;
      /** Sends an encoded frame; with it `voice.audio.pcm` goes out through {@link PcmFrameEncoder}. */
      publishEncoded?(frame: Uint8Array): void;
    };
    /** The runtime's id and reproducibility stamps, copied into spliced PCM envelopes. */
    readonly id?: string;
    readonly buildSha?: string;
    readonly configRev?: string;
    readonly models?: { name: string; version: string; checksum?: string }[];
  };
}

export interface VoiceAccessAgentOptions {
  provider: string;
  tenant: string;
  /** The tenant's allow-list (providers.yml); a join it refuses is answered `forbidden` and counted. */
  allows: AllowCheck;
  /** `voice.health` period per session, in ms (≤ 1000). */
  healthIntervalMs: number;
  session: Partial<VoiceSessionOptions>;
  /** Relay sinks attached to every session (tests, taps). */
  relays: OpusRelay[];
  /**
   * The SFU relay: a per-session sink (`RtpForwarder.forSession`) whose streams are announced as
   * `voice.relay.streams`; feed its stream events to {@link VoiceAccessAgent.onRelayStream}.
   */
  sfuRelay: { forSession(sessionId: string): SessionRelay } | undefined;
  relayAnnouncer: Partial<RelayAnnouncerOptions>;
  /** Who is in each session's channel; `voice.members` is published only with one. */
  members: VoiceMemberSource | undefined;
  membersPublisher: Partial<VoiceMembersPublisherOptions>;
  /** The bot's presence; `voice.listeners` is announced only with one. */
  presence: PresenceSink | undefined;
  /** Announcer settings; `announces(guildId)` is providers.yml's `voice.announce_listeners` for the guild. */
  listeners: Partial<ListenerAnnouncerOptions>;
  /**
   * Which speakers are decoded to PCM: `always` every one (what `promethean tap` and consumers that
   * do not lease expect), `leases` only those a live `voice.audio.pcm.demand` lease covers (the relay
   * to the SFU runs for every speaker either way). Health's per-speaker `decoded` says which.
   */
  pcmDemand: 'always' | 'leases';
}

export const defaultVoiceAccessAgentOptions = {
  provider: 'discord',
  healthIntervalMs: 1000,
  session: {},
  relays: [] as OpusRelay[],
  sfuRelay: undefined,
  relayAnnouncer: {},
  members: undefined,
  membersPublisher: {},
  presence: undefined,
  listeners: {},
  pcmDemand: 'always' as 'always' | 'leases',
};

export class VoiceAccessAgent {
  readonly options: VoiceAccessAgentOptions;
  readonly runtime: AgentPort;
  /** Sessions by session id. */
  readonly sessions = new Map<string, VoiceSession>();
  private readonly gateway: VoiceGateway;
  private healthTimer: ReturnType<typeof setInterval> | undefined;
  private membersPublisher: VoiceMembersPublisher | undefined;
  private announcer: ListenerAnnouncer | undefined;
  private relayAnnouncer: RelayAnnouncer | undefined;
  /** `voice.relay.anchor`: the relayed streams' RTP timestamps on the PCM frames' clock. */
  private relayAnchors: RelayAnchorAnnouncer | undefined;
  private readonly sessionRelays = new Map<string, SessionRelay>();
  /** Leases on decoded PCM (`voice.audio.pcm.demand`). */
  readonly demand = new PcmDemand();

  constructor(runtime: AgentPort, gateway: VoiceGateway, options: Partial<VoiceAccessAgentOptions> & Pick<VoiceAccessAgentOptions, 'tenant' | 'allows'>) {
    this.runtime = runtime;
    this.gateway = gateway;
    this.options = { ...defaultVoiceAccessAgentOptions, ...options };
  }

  private topic(intent: string): string {
    return `promethean.p.${this.options.provider}.t.${this.options.tenant}.${intent}`;
  }

  start(): void {
    const rt = this.runtime;
    rt.subscribe(this.topic('voice.control.join'), (env) => void this.onJoin(parse('voice.control.join', env)));
    rt.subscribe(this.topic('voice.control.leave'), (env) => this.onLeave(parse('voice.control.leave', env)));
    rt.subscribe(this.topic('voice.control.set-bitrate'), (env) => this.onSetBitrate(parse('voice.control.set-bitrate', env)));
    rt.subscribe(this.topic('voice.play.pcm.out'), (env, att) => this.onPlayPcm(parse('voice.play.pcm.out', env), att));
    rt.subscribe(this.topic('voice.play.opus'), (env, att) => this.onPlayOpus(parse('voice.play.opus', env), att));
    rt.subscribe(this.topic('voice.listeners'), (env) => this.onListeners(parse('voice.listeners', env)));
    rt.subscribe(this.topic('voice.audio.pcm.demand'), (env) => this.demand.lease(parse('voice.audio.pcm.demand', env)));
    this.healthTimer = setInterval(() => this.publishHealth(), this.options.healthIntervalMs);
    if (this.options.members) {
      this.membersPublisher = new VoiceMembersPublisher(this.options.members, (p) => this.runtime.publish('voice.members', p, this.route()), this.options.membersPublisher);
      this.membersPublisher.onError = () => this.runtime.count('members_publish_errors');
    }
    if (this.options.presence) this.announcer = new ListenerAnnouncer(this.options.presence, this.options.listeners);
    if (this.options.sfuRelay) {
      this.relayAnnouncer = new RelayAnnouncer((p) => this.runtime.publish('voice.relay.streams', p, this.route()), this.options.relayAnnouncer);
      this.relayAnnouncer.onError = () => this.runtime.count('relay_announce_errors');
      this.relayAnchors = new RelayAnchorAnnouncer(
        (sessionId, userId, inSsrc, inTs) => this.sessionRelays.get(sessionId)?.outgoing(userId, inSsrc, inTs),
        (p) => this.runtime.publish('voice.relay.anchor', p, this.route()),
      );
    }
  }

  /** A relayed stream opened or closed (from the RtpForwarder): the SFU learns it through `voice.relay.streams`. */
  onRelayStream(e: RtpStreamEvent): void {
    this.relayAnnouncer?.stream(e);
  }

  stop(): void {
    if (this.healthTimer) clearInterval(this.healthTimer);
    this.healthTimer = undefined;
    this.membersPublisher?.close();
    this.announcer?.close();
    this.relayAnnouncer?.close();
    for (const s of [...this.sessions.values()]) s.close();
    this.sessions.clear();
    for (const r of this.sessionRelays.values()) r.close();
    this.sessionRelays.clear();
  }

  /** Frames waiting inside the bridge (jitter buffers, publisher, playback). */
  queueDepth(): number {
    let n = 0;
    for (const s of this.sessions.values()) n += s.receive.queueDepth + s.publisher.depth + s.sender.queued;
    return n;
  }

  /** Joins (or re-announces) a session; throws `forbidden` for a guild or channel the tenant's allow-list refuses. */
  onJoin(p: PayloadOf<'voice.control.join'>): VoiceSession {
    if (!this.options.allows({ guild_id: p.guild_id, channel_id: p.channel_id })) {
      this.runtime.count('joins_forbidden');
      const field = this.options.allows({ guild_id: p.guild_id }) ? 'channel_id' : 'guild_id';
      throw new PrometheanError('forbidden', `tenant ${this.options.tenant} may not join guild ${p.guild_id} channel ${p.channel_id}: not in the providers.yml allow-list (${field})`, { path: `payload.${field}` });
    }
    const sessionId = p.session_id ?? `${p.guild_id}-${p.channel_id}`;
    for (const s of this.sessions.values()) {
      if (s.ids.guildId !== p.guild_id) continue;
      const alive = !s.isClosed && (s.status === 'connected' || s.status === 'reconnecting');
      if (alive && s.ids.channelId === p.channel_id && s.ids.sessionId === sessionId) {
        this.publishState(s);
        this.membersPublisher?.snapshot(sessionId);
        return s;
      }
      this.closeSession(s); // one voice connection per guild: a join elsewhere (or after a kick) starts over
    }
    const connection = this.gateway.join({ guildId: p.guild_id, channelId: p.channel_id, selfMute: p.self_mute, selfDeaf: p.self_deaf });
    const bus = this.runtime.options.bus;
    const backlog = () => ({ queued: bus.queueDepth ?? 0, bufferedBytes: bus.bufferedBytes ?? 0 });
    const diagnose = this.gateway.whyNotJoinable ? () => this.gateway.whyNotJoinable!(p.guild_id, p.channel_id) : undefined;
    const session = new VoiceSession({ sessionId, guildId: p.guild_id, channelId: p.channel_id }, connection, this.pcmSend(sessionId), backlog, { ...(diagnose ? { diagnose } : {}), ...this.options.session });
    if (this.options.pcmDemand === 'leases') session.receive.demand = (userId) => this.demand.wants(sessionId, userId);
    for (const r of this.options.relays) session.addRelay(r);
    if (this.options.sfuRelay) {
      const relay = this.options.sfuRelay.forSession(sessionId);
      this.sessionRelays.set(sessionId, relay);
      session.addRelay(relay);
      session.on('speakerGone', (userId) => relay.endStream(userId));
      this.relayAnnouncer?.track({ session_id: sessionId, guild_id: p.guild_id, channel_id: p.channel_id });
    }
    session.on('state', () => {
      const gone = TERMINAL_STATUSES.has(session.status) || (session.status === 'disconnected' && session.connection.state.status === VoiceConnectionStatus.Destroyed);
      if (gone && !session.isClosed && this.sessions.get(sessionId) === session) {
        // kicked, destroyed, or a join that never connected: release its timers and health output; state says why
        this.closeSession(session);
        return;
      }
      this.publishState(session);
    });
    this.sessions.set(sessionId, session);
    this.publishState(session);
    this.membersPublisher?.track(session.ids);
    this.announcer?.sessionOpened(sessionId, p.guild_id);
    return session;
  }

  /**
   * How a session's PCM frames reach the bus: spliced by a per-session {@link PcmFrameEncoder} (the
   * envelope JSON that never changes is built once per speaker) when the bus takes encoded frames,
   * else through the runtime's publish (makeEnvelope + encodeFrame).
   */
  private pcmSend(sessionId: string): PcmSend {
    const send = this.pcmSendBus(sessionId);
    const anchors = this.relayAnchors;
    if (!anchors) return send;
    return (payload, pcm) => {
      send(payload, pcm);
      anchors.frame({ sessionId, userId: payload.user_id, inSsrc: payload.rtp.ssrc, inTimestamp: payload.rtp.timestamp, tsMonotonicNs: BigInt(payload.ts_monotonic_ns) });
    };
  }

  private pcmSendBus(sessionId: string): PcmSend {
    const rt = this.runtime;
    const bus = rt.options.bus;
    if (!bus.publishEncoded || rt.state === 'STOPPED') return (payload, pcm) => rt.publish('voice.audio.pcm', payload, { ...this.route(), attachments: [pcm] });
    const o = rt.options;
    const encoder = new PcmFrameEncoder({
      src: o.id ?? 'discord-voice-access',
      provider: this.options.provider,
      tenant: this.options.tenant,
      sessionId,
      ...(o.buildSha !== undefined ? { build_sha: o.buildSha } : {}),
      ...(o.configRev !== undefined ? { config_rev: o.configRev } : {}),
      ...(o.models !== undefined ? { models: o.models } : {}),
    });
    const publishEncoded = bus.publishEncoded.bind(bus);
    return (payload, pcm) => {
      publishEncoded(encoder.encode(payload, pcm));
      rt.count('published.voice.audio.pcm');
    };
  }

  onLeave(p: PayloadOf<'voice.control.leave'>): void {
    const matches = [...this.sessions.values()].filter((s) => (p.session_id ? s.ids.sessionId === p.session_id : s.ids.guildId === p.guild_id));
    if (matches.length === 0) throw new PrometheanError('invalid_state', `no voice session for guild ${p.guild_id}`, { path: 'payload.guild_id' });
    for (const s of matches) this.closeSession(s);
  }

  /** A new count of moderators listening to a session: the bot's presence says so, where the guild allows. */
  onListeners(p: PayloadOf<'voice.listeners'>): void {
    if (!this.announcer) return;
    if (!this.announcer.setCount(p)) this.runtime.count('listeners_not_announced');
  }

  onSetBitrate(p: PayloadOf<'voice.control.set-bitrate'>): void {
    this.session(p.session_id).sender.setBitrate(p.bitrate);
  }

  onPlayPcm(p: PayloadOf<'voice.play.pcm.out'>, attachments: Uint8Array[]): void {
    const bytes = audioBytes(p, attachments);
    const samples = pcmSamples(bytes);
    if (samples.length !== 1920) throw new PrometheanError('schema', `voice.play.pcm.out frame of ${samples.length} samples is not 20 ms of 48 kHz stereo (1920)`, { path: 'payload.attachment' });
    this.session(p.session_id).sender.pushPcm(samples);
  }

  onPlayOpus(p: PayloadOf<'voice.play.opus'>, attachments: Uint8Array[]): void {
    const session = this.session(p.session_id);
    if (p.data_b64 !== undefined) session.sender.pushOpus(Buffer.from(p.data_b64, 'base64'));
    else if (p.attachment !== undefined) for (const a of attachments.slice(p.attachment)) session.sender.pushOpus(a);
    else throw new PrometheanError('unsupported', 'voice.play.opus by data_path is not accepted by the bridge', { path: 'payload.data_path' });
  }

  publishHealth(): void {
    this.demand.expire();
    let degraded = false;
    for (const s of this.sessions.values()) {
      const h = s.healthPayload();
      if (h.state === 'DEGRADED') degraded = true;
      this.runtime.publish('voice.health', h, this.route());
    }
    const rt = this.runtime;
    if (rt.state === 'RUNNING' && degraded) rt.setState('DEGRADED', 'a voice session is degraded');
    else if (rt.state === 'DEGRADED' && !degraded) rt.setState('RUNNING');
  }

  private publishState(s: VoiceSession): void {
    this.runtime.publish('voice.state.connected', s.statePayload(), this.route());
  }

  private closeSession(s: VoiceSession): void {
    s.close();
    this.sessionRelays.get(s.ids.sessionId)?.close();
    this.sessionRelays.delete(s.ids.sessionId);
    this.relayAnnouncer?.untrack(s.ids.sessionId);
    this.relayAnchors?.forgetSession(s.ids.sessionId);
    this.publishState(s);
    this.sessions.delete(s.ids.sessionId);
    this.membersPublisher?.untrack(s.ids.sessionId);
    this.announcer?.sessionClosed(s.ids.sessionId);
  }

  private session(id: string): VoiceSession {
    const s = this.sessions.get(id);
    if (!s) throw new PrometheanError('invalid_state', `no voice session "${id}"`, { path: 'payload.session_id' });
    return s;
  }

  private route(): { provider: string; tenant: string } {
    return { provider: this.options.provider, tenant: this.options.tenant };
  }
}

/** Validates a payload where it enters the agent; a bad one becomes an `error` envelope via the runtime. */
function parse<I extends keyof typeof voicePayloads>(intent: I, env: Envelope): z.infer<(typeof voicePayloads)[I]> {
  const r = voicePayloads[intent].safeParse(env.payload);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = ['payload', ...(issue?.path ?? []).map(String)].join('.');
    throw new PrometheanError('schema', `${intent} ${path}: ${issue?.message ?? 'invalid'}`, { path });
  }
  return r.data as z.infer<(typeof voicePayloads)[I]>;
}

function audioBytes(p: { attachment?: number | undefined; data_b64?: string | undefined }, attachments: Uint8Array[]): Uint8Array {
  if (p.attachment !== undefined) {
    const a = attachments[p.attachment];
    if (!a) throw new PrometheanError('bad_frame', `attachment ${p.attachment} is missing`, { path: 'payload.attachment' });
    return a;
  }
  if (p.data_b64 !== undefined) return new Uint8Array(Buffer.from(p.data_b64, 'base64'));
  throw new PrometheanError('unsupported', 'audio by data_path is not accepted on the playback hot path', { path: 'payload.data_path' });
}
