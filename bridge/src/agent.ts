/**
 * `discord-voice-access`: the voice access agent. Consumes `voice.control.(join|leave|set-bitrate)`,
 * `voice.play.pcm.out` and `voice.play.opus`; publishes `voice.state.connected`, `voice.health`
 * (every second per session) and `voice.audio.pcm` (binary frames, PCM as attachment 0).
 */
import { voicePayloads, PrometheanError, type Envelope, type KnownIntent, type PayloadOf } from '@promethean/shared';
import type { z } from 'zod';
import type { AllowCheck } from './credentials.ts';
import type { VoiceGateway } from './discord/voice-gateway.ts';
import type { OpusRelay } from './receive/relay.ts';
import { pcmSamples } from './session/pcm-publisher.ts';
import { VoiceSession, type VoiceSessionOptions } from './session/voice-session.ts';

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
  readonly options: { bus: { readonly queueDepth?: number } };
}

export interface VoiceAccessAgentOptions {
  provider: string;
  tenant: string;
  /** The tenant's allow-list (providers.yml); a join it refuses is answered `forbidden` and counted. */
  allows: AllowCheck;
  /** `voice.health` period per session, in ms (≤ 1000). */
  healthIntervalMs: number;
  session: Partial<VoiceSessionOptions>;
  /** Relay sinks (the SFU producer) attached to every session. */
  relays: OpusRelay[];
}

export const defaultVoiceAccessAgentOptions = { provider: 'discord', healthIntervalMs: 1000, session: {}, relays: [] as OpusRelay[] };

export class VoiceAccessAgent {
  readonly options: VoiceAccessAgentOptions;
  readonly runtime: AgentPort;
  /** Sessions by session id. */
  readonly sessions = new Map<string, VoiceSession>();
  private readonly gateway: VoiceGateway;
  private healthTimer: ReturnType<typeof setInterval> | undefined;

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
    this.healthTimer = setInterval(() => this.publishHealth(), this.options.healthIntervalMs);
  }

  stop(): void {
    if (this.healthTimer) clearInterval(this.healthTimer);
    this.healthTimer = undefined;
    for (const s of [...this.sessions.values()]) s.close();
    this.sessions.clear();
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
        return s;
      }
      this.closeSession(s); // one voice connection per guild: a join elsewhere (or after a kick) starts over
    }
    const connection = this.gateway.join({ guildId: p.guild_id, channelId: p.channel_id, selfMute: p.self_mute, selfDeaf: p.self_deaf });
    const busQueue = () => this.runtime.options.bus.queueDepth ?? 0;
    const session = new VoiceSession(
      { sessionId, guildId: p.guild_id, channelId: p.channel_id },
      connection,
      (payload, pcm) => this.runtime.publish('voice.audio.pcm', payload, { ...this.route(), attachments: [pcm] }),
      busQueue,
      this.options.session,
    );
    for (const r of this.options.relays) session.addRelay(r);
    session.on('state', () => this.publishState(session));
    this.sessions.set(sessionId, session);
    this.publishState(session);
    return session;
  }

  onLeave(p: PayloadOf<'voice.control.leave'>): void {
    const matches = [...this.sessions.values()].filter((s) => (p.session_id ? s.ids.sessionId === p.session_id : s.ids.guildId === p.guild_id));
    if (matches.length === 0) throw new PrometheanError('invalid_state', `no voice session for guild ${p.guild_id}`, { path: 'payload.guild_id' });
    for (const s of matches) this.closeSession(s);
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
    this.publishState(s);
    this.sessions.delete(s.ids.sessionId);
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
