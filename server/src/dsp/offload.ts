/**
 * The DSP offload scheduler on the bus (docs/dsp.md "Offload"). Lives in the server process, beside
 * the hub: it is the hub's `dsp` grant check, so it sees every runner intent of a console session
 * (`dsp.capacity`, `dsp.heartbeat`, `dsp.leave`) with the session's principal, the VAD worker's
 * stream reports (`dsp.streams`), and every `voice.audio.segment` before it is delivered, all in the
 * order each connection sent them. It places each speaker stream with {@link DspLeaseScheduler} and
 * announces every move with `dsp.lease`; the worker runs the streams the server holds and pauses
 * the others.
 *
 * A segment is delivered only when its publisher holds the stream (`dsp:<stream>`: the session and
 * tab the lease names, or the server's worker) and it is the next index of the stream, so segment
 * ids stay unique and contiguous across handovers; duplicates, gaps and non-holders are refused
 * (a typed `forbidden` error back to the publisher) and counted. Segments of streams the scheduler
 * does not manage (no worker reported them) are left alone when an agent publishes them and refused
 * when a session does.
 */
import { EventEmitter } from 'node:events';
import { makeEnvelope, PrometheanError, type Envelope, type PayloadOf } from '@promethean/shared';
import { mayReceive, type EnvelopeScope, type Principal, type PublishedEnvelope } from '../hub/auth.ts';
import { DspLeaseScheduler, SERVER, type Handover } from './lease-scheduler.ts';

export interface DspOffloadOptions {
  /** A browser's lease not renewed by heartbeat for this long moves back to the server. */
  leaseMs: number;
  /** A browser reporting a lag above this loses its streams. */
  maxLagMs: number;
  /** How often leases are checked for expiry. */
  tickMs: number;
  maxRunners: number;
  maxStreams: number;
  /** Voice sessions whose guild and channel are remembered (for scoped moderators), at most. */
  maxSessions: number;
  /** `src` of the `dsp.lease` envelopes. */
  src: string;
  now: () => number;
  /**
   * Refuse a browser's segment unless it says its times are on the relay clock (`clock: 'relay'`,
   * mapped through `voice.relay.anchor`): one on a tab's receive clock would make the STT worker
   * cut the wrong audio. Counted `unclocked`.
   */
  requireRelayClock: boolean;
}

export const defaultDspOffloadOptions: DspOffloadOptions = {
  leaseMs: 6000,
  maxLagMs: 2000,
  tickMs: 1000,
  maxRunners: 256,
  maxStreams: 1024,
  maxSessions: 4096,
  src: 'server',
  now: () => performance.now(),
  requireRelayClock: false,
};

/** What the offload needs of a bus client (the server's own `BusClient` satisfies it). */
export interface OffloadBus {
  publish(envelope: Envelope): void;
  subscribe(pattern: string, handler: (envelope: Envelope) => void): { ready: Promise<void> };
}

/** A lease moved (or a stream ended: `to` null), when (`now()`), and where it stood. */
export interface LeaseMove {
  provider: string;
  tenant: string;
  sessionId: string;
  userId: string;
  from: string | null;
  to: string | null;
  nextIndex: number;
  at: number;
}

export type DspOffloadEvents = {
  lease: [move: LeaseMove];
  /** A segment was delivered: who published it and its index. */
  segment: [stream: string, holder: string, index: number, open: boolean];
};

interface StreamMeta {
  provider: string;
  tenant: string;
  sessionId: string;
  userId: string;
  epochMs: number;
}

interface RunnerMeta {
  tenant: string;
  guild: string | undefined;
  channel: string | undefined;
}

const streamKey = (provider: string, tenant: string, sessionId: string, userId: string) => `${provider}\n${tenant}\n${sessionId}\n${userId}`;

export class DspOffload extends EventEmitter<DspOffloadEvents> {
  readonly options: DspOffloadOptions;
  readonly scheduler: DspLeaseScheduler;
  /** accepted, open_accepted, duplicate, gap, not_holder, unmanaged_refused, bad_segment_id, leases, runners_refused, … */
  readonly counters: Record<string, number> = {};
  readonly #streams = new Map<string, StreamMeta>();
  readonly #runners = new Map<string, RunnerMeta>();
  /** Voice session → where it is (guild, channel), from `voice.state.connected`. */
  readonly #sessions = new Map<string, EnvelopeScope>();
  #bus: OffloadBus | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(options: Partial<DspOffloadOptions> = {}) {
    super();
    this.options = { ...defaultDspOffloadOptions, ...options };
    this.scheduler = new DspLeaseScheduler({
      leaseMs: this.options.leaseMs,
      maxLagMs: this.options.maxLagMs,
      maxRunners: this.options.maxRunners,
      maxStreams: this.options.maxStreams,
      now: this.options.now,
      canHold: (runner, stream) => this.#canHold(runner, stream),
    });
  }

  /** Starts on a bus: leases go out on it, and it tells where voice sessions are. Resolves once subscribed. */
  async attach(bus: OffloadBus): Promise<void> {
    this.#bus = bus;
    const subs = [bus.subscribe('promethean.p.*.t.*.voice.state.connected', (env) => this.#guard(() => this.onState(env)))];
    this.#timer = setInterval(() => this.#guard(() => this.#announce(this.scheduler.tick())), this.options.tickMs);
    this.#timer.unref?.();
    await Promise.all(subs.map((s) => s.ready));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#bus = undefined;
  }

  /** The runner id of a console tab: its session's `src` and its own `runner_id`. */
  static runnerOf(src: string, runnerId: string): string {
    return `${src}/${runnerId}`;
  }

  /** Who holds a stream now (`server`, a runner id), or undefined when not managed. */
  holder(provider: string, tenant: string, sessionId: string, userId: string): string | undefined {
    return this.scheduler.holder(streamKey(provider, tenant, sessionId, userId));
  }

  /**
   * The hub's `dsp` grant check: why `principal` may not publish `env` (a runner intent or a
   * segment), or undefined when it may. Runner intents take effect here.
   */
  refusal(principal: Principal, env: PublishedEnvelope): string | undefined {
    try {
      return this.#refusal(principal, env);
    } catch (error) {
      // Bounds and bad values from the scheduler: refused with their message, never a crash of the hub.
      this.#count('runner_errors');
      return error instanceof PrometheanError ? error.message : `DSP offload: ${(error as Error).message}`;
    }
  }

  #refusal(principal: Principal, env: PublishedEnvelope): string | undefined {
    const provider = (env as { provider?: unknown }).provider;
    if (typeof provider !== 'string') return 'the envelope names no provider';
    if (env.intent === 'voice.audio.segment') return this.#segment(principal, provider, env);
    // The worker's report is taken here, in order with its segments on the same connection.
    if (env.intent === 'dsp.streams' && principal.role === 'agent') {
      this.onStreams(provider, env.tenant, env.payload as PayloadOf<'dsp.streams'>);
      return undefined;
    }
    if (principal.role === 'agent') return `${env.intent} is for console sessions that run DSP (an agent holds no DSP lease)`;
    const p = env.payload as { runner_id: string };
    const runner = DspOffload.runnerOf(env.src, p.runner_id);
    if (env.intent === 'dsp.capacity') {
      const c = env.payload as PayloadOf<'dsp.capacity'>;
      if (!this.scheduler.hasRunner(runner) && this.#runners.size >= this.options.maxRunners) {
        this.#count('runners_refused');
        return `more than ${this.options.maxRunners} DSP runners`;
      }
      this.#runners.set(runner, { tenant: env.tenant, guild: principal.guild, channel: principal.channel });
      this.#announce(this.scheduler.advertise({ id: runner, backend: c.backend, threads: c.threads, capacity: c.capacity, score: c.score }));
      this.#count('advertised');
      return undefined;
    }
    if (env.intent === 'dsp.heartbeat') {
      if (!this.scheduler.hasRunner(runner)) return `unknown DSP runner ${runner}: advertise with dsp.capacity first`;
      this.#announce(this.scheduler.heartbeat(runner, (env.payload as PayloadOf<'dsp.heartbeat'>).lag_ms));
      return undefined;
    }
    if (env.intent === 'dsp.leave') {
      this.#announce(this.scheduler.leave(runner));
      this.#runners.delete(runner);
      return undefined;
    }
    return `${env.intent} is not a DSP runner intent`;
  }

  /** `voice.audio.segment`: only from the stream's holder, only as its next index. */
  #segment(principal: Principal, provider: string, env: PublishedEnvelope): string | undefined {
    const p = env.payload as PayloadOf<'voice.audio.segment'>;
    const key = streamKey(provider, env.tenant, p.session_id, p.user_id);
    const meta = this.#streams.get(key);
    const stream = `dsp:${p.session_id}/${p.user_id}`;
    if (!meta) {
      if (principal.role === 'agent') return undefined;
      this.#count('unmanaged_refused');
      return `${stream} is held by nobody (no VAD worker reported the stream)`;
    }
    const runner = principal.role === 'agent' ? SERVER : DspOffload.runnerOf(env.src, p.runner_id ?? '');
    if (p.index === undefined || p.segment_id !== `${p.session_id}.${p.user_id}.${meta.epochMs}.${p.index}`) {
      this.#count('bad_segment_id');
      return `${stream}: segment_id must be <session>.<user>.${meta.epochMs}.<index> with index set (the lease's epoch_ms)`;
    }
    if (principal.role !== 'agent' && this.options.requireRelayClock && p.clock !== 'relay') {
      this.#count('unclocked');
      return `${stream}: a browser's segment must be on the relay clock (clock: "relay", from voice.relay.anchor), not ${p.clock ?? 'unstated'}`;
    }
    const open = p.open === true;
    const result = open ? this.scheduler.acceptOpen(key, runner, p.index) : this.scheduler.accept(key, runner, p.index);
    if (result === 'accepted') {
      this.#count(open ? 'open_accepted' : 'accepted');
      this.emit('segment', key, runner, p.index, open);
      return undefined;
    }
    this.#count(result);
    const next = this.scheduler.nextIndex(key);
    if (result === 'not_holder') return `${stream} is held by ${this.scheduler.holder(key) === SERVER ? 'the server' : 'another runner'}: this publisher holds no dsp: grant for it`;
    return `${stream}: segment index ${p.index} is a ${result === 'gap' ? 'gap' : 'duplicate'} (next is ${next})`;
  }

  /** The VAD worker's streams of one provider/tenant: new ones placed, ended ones dropped, drift corrected. */
  onStreams(provider: string, tenant: string, p: PayloadOf<'dsp.streams'>): void {
    const env = { provider, tenant };
    const seen = new Set<string>();
    const moves: Handover[] = [];
    for (const s of p.streams) {
      const key = streamKey(env.provider, env.tenant, s.session_id, s.user_id);
      seen.add(key);
      if (!this.#streams.has(key)) {
        if (this.#streams.size >= this.options.maxStreams) {
          this.#count('streams_refused');
          continue;
        }
        this.#streams.set(key, { provider: env.provider, tenant: env.tenant, sessionId: s.session_id, userId: s.user_id, epochMs: s.epoch_ms });
        moves.push(...this.scheduler.addStream(key, s.next_index));
        this.#count('streams_added');
      }
      const meta = this.#streams.get(key)!;
      const holder = this.scheduler.holder(key);
      const next = this.scheduler.nextIndex(key) ?? 0;
      if (moves.some((m) => m.stream === key)) continue;
      // The worker runs what the server holds, from the scheduler's index and epoch, and nothing else.
      // (A worker ahead of the scheduler has segments on their way: reported before they were published.)
      const drift = holder === SERVER ? !s.running || s.epoch_ms !== meta.epochMs || s.next_index < next : s.running;
      if (drift && holder !== undefined) {
        this.#publishLease(meta, holder, next);
        this.#count('resyncs');
      }
    }
    for (const [key, meta] of this.#streams) {
      if (meta.provider !== env.provider || meta.tenant !== env.tenant || seen.has(key)) continue;
      const holder = this.scheduler.holder(key);
      this.scheduler.removeStream(key);
      this.#streams.delete(key);
      this.#count('streams_removed');
      if (holder !== undefined && holder !== SERVER) this.#publishLease(meta, null, 0);
      this.emit('lease', { ...this.#where(meta), from: holder ?? null, to: null, nextIndex: 0, at: this.options.now() });
    }
    this.#announce(moves);
  }

  /** Where each voice session is, for sessions limited to a guild or channel. */
  onState(env: Envelope): void {
    const p = env.payload as PayloadOf<'voice.state.connected'>;
    const alive = p.status === 'connected' || p.status === 'reconnecting';
    if (!alive) {
      this.#sessions.delete(p.session_id);
      return;
    }
    if (!this.#sessions.has(p.session_id) && this.#sessions.size >= this.options.maxSessions) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest !== undefined) this.#sessions.delete(oldest);
    }
    this.#sessions.set(p.session_id, { guild: p.guild_id, channel: p.channel_id });
  }

  #canHold(runner: string, stream: string): boolean {
    if (runner === SERVER) return true;
    const r = this.#runners.get(runner);
    const s = this.#streams.get(stream);
    if (!r || !s || r.tenant !== s.tenant) return false;
    if (r.guild === undefined && r.channel === undefined) return true;
    return mayReceive({ role: 'moderator', tenant: r.tenant, ...(r.guild !== undefined ? { guild: r.guild } : {}), ...(r.channel !== undefined ? { channel: r.channel } : {}) }, this.#sessions.get(s.sessionId));
  }

  #announce(moves: readonly Handover[]): void {
    for (const m of moves) {
      const meta = this.#streams.get(m.stream);
      if (!meta) continue;
      this.#publishLease(meta, m.to, m.nextIndex);
      this.#count(m.to === SERVER ? 'to_server' : 'to_client');
      this.emit('lease', { ...this.#where(meta), from: m.from, to: m.to, nextIndex: m.nextIndex, at: this.options.now() });
    }
    // Runners the scheduler dropped (lease expired) are forgotten here too.
    if (moves.length > 0 || this.#runners.size > this.scheduler.options.maxRunners) {
      for (const id of this.#runners.keys()) if (!this.scheduler.hasRunner(id)) this.#runners.delete(id);
    }
  }

  #publishLease(meta: StreamMeta, holder: string | null, nextIndex: number): void {
    const bus = this.#bus;
    if (!bus) return;
    const payload: PayloadOf<'dsp.lease'> = { session_id: meta.sessionId, user_id: meta.userId, holder, next_index: nextIndex, epoch_ms: meta.epochMs, lease_ms: this.options.leaseMs };
    bus.publish(makeEnvelope('dsp.lease', payload, { src: this.options.src, provider: meta.provider, tenant: meta.tenant }));
    this.#count('leases');
  }

  #where(meta: StreamMeta): Pick<LeaseMove, 'provider' | 'tenant' | 'sessionId' | 'userId'> {
    return { provider: meta.provider, tenant: meta.tenant, sessionId: meta.sessionId, userId: meta.userId };
  }

  #count(name: string): void {
    this.counters[name] = (this.counters[name] ?? 0) + 1;
  }

  /** A handler's failure on one envelope is counted, never thrown into the bus client. */
  #guard(fn: () => void): void {
    try {
      fn();
    } catch {
      this.#count('handler_errors');
    }
  }
}
