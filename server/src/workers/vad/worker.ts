/**
 * The `vad` worker: tokenless. Consumes every speaker's `voice.audio.pcm` (48 kHz s16 mono, 20 ms
 * frames), runs one {@link VadStream} per (provider, tenant, session, user), and publishes
 * `voice.audio.segment` on the same provider/tenant. It keeps the bridge decoding PCM for each
 * connected session with `voice.audio.pcm.demand` leases, and applies `voice.vad.settings` live.
 * This is the server's fallback runner for a stream no browser holds (docs/dsp.md).
 */
import { BUS_PCM_FORMAT, checkVadSettings, defaultVadSettings, DspOptionsError, PrometheanError, voicePayloads, type Envelope, type PayloadOf, type VadSettings } from '@promethean/shared';
import { SILERO_MODEL_NAME, type SileroModel } from '../../dsp/silero.ts';
import { VadStream, type TimedSegment } from './stream.ts';

/** The part of the shared agent runtime the worker uses (`AgentRuntime` satisfies it). */
export interface VadRuntime {
  subscribe(pattern: string, handler: (envelope: Envelope, attachments: Uint8Array[]) => void | Promise<void>): void;
  publish(intent: 'voice.audio.segment' | 'voice.audio.pcm.demand', payload: PayloadOf<'voice.audio.segment'> | PayloadOf<'voice.audio.pcm.demand'>, options: { provider: string; tenant: string }): unknown;
  count(name: string, by?: number): void;
}

export interface VadWorkerOptions {
  /** Most streams at once; PCM of further streams is refused (counted) until one closes. */
  maxStreams: number;
  /** Most sessions whose settings or leases are kept. */
  maxSessions: number;
  /** Frames waiting per stream before the oldest are dropped (the model fell behind). */
  maxQueue: number;
  /** A stream with no PCM for this long ends its open speech and is closed. */
  idleMs: number;
  /** How often PCM leases are renewed, and their time to live. */
  leaseRenewMs: number;
  leaseTtlMs: number;
  /** Lease PCM from the bridge for connected sessions. */
  demandPcm: boolean;
}

export const defaultVadWorkerOptions: VadWorkerOptions = {
  maxStreams: 256,
  maxSessions: 256,
  maxQueue: 100,
  idleMs: 30_000,
  leaseRenewMs: 10_000,
  leaseTtlMs: 30_000,
  demandPcm: true,
};

interface StreamEntry {
  provider: string;
  tenant: string;
  sessionId: string;
  userId: string;
  stream: VadStream;
  /** Origin of the stream's ids (ms of its first frame), so a restarted worker never repeats one. */
  epochMs: number;
  queue: Array<{ pcm: Int16Array; ts: bigint }>;
  running: boolean;
  /** Closed while a frame was in the model: the drain loop flushes it when done. */
  closing: boolean;
}

/** Maps the settings envelope's snake_case fields onto VadSettings. */
function settingsFrom(p: PayloadOf<'voice.vad.settings'>): Partial<VadSettings> {
  const s: Partial<VadSettings> = {};
  if (p.positive_threshold !== undefined) s.positiveThreshold = p.positive_threshold;
  if (p.negative_threshold !== undefined) s.negativeThreshold = p.negative_threshold;
  if (p.min_speech_ms !== undefined) s.minSpeechMs = p.min_speech_ms;
  if (p.pre_pad_ms !== undefined) s.prePadMs = p.pre_pad_ms;
  if (p.post_pad_ms !== undefined) s.postPadMs = p.post_pad_ms;
  if (p.redemption_ms !== undefined) s.redemptionMs = p.redemption_ms;
  if (p.max_segment_ms !== undefined) s.maxSegmentMs = p.max_segment_ms;
  if (p.max_tonality !== undefined) s.maxTonality = p.max_tonality;
  return s;
}

function parse<I extends 'voice.audio.pcm' | 'voice.vad.settings' | 'voice.state.connected'>(intent: I, env: Envelope): PayloadOf<I> {
  const r = voicePayloads[intent].safeParse(env.payload);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = ['payload', ...(issue?.path ?? []).map(String)].join('.');
    throw new PrometheanError('schema', `${intent} ${path}: ${issue?.message ?? 'invalid'}`, { path });
  }
  return r.data as PayloadOf<I>;
}

export class VadWorker {
  readonly options: VadWorkerOptions;
  readonly #runtime: VadRuntime;
  readonly #model: SileroModel;
  readonly #streams = new Map<string, StreamEntry>();
  /** `${provider}\n${tenant}\n${session}` (or `…\n*` for the tenant default) → settings. */
  readonly #settings = new Map<string, Partial<VadSettings>>();
  /** Sessions to lease PCM for: key → { provider, tenant, sessionId }. */
  readonly #sessions = new Map<string, { provider: string; tenant: string; sessionId: string }>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #stopped = false;

  constructor(runtime: VadRuntime, model: SileroModel, options: Partial<VadWorkerOptions> = {}) {
    this.#runtime = runtime;
    this.#model = model;
    this.options = { ...defaultVadWorkerOptions, ...options };
  }

  start(): void {
    this.#runtime.subscribe('promethean.p.*.t.*.voice.audio.pcm', (env, att) => this.onPcm(env, att));
    this.#runtime.subscribe('promethean.p.*.t.*.voice.vad.settings', (env) => this.onSettings(env));
    this.#runtime.subscribe('promethean.p.*.t.*.voice.state.connected', (env) => this.onState(env));
    this.#timer = setInterval(() => this.#tick(), Math.min(this.options.leaseRenewMs, 5000));
    this.#timer.unref?.();
  }

  /** Ends open speech everywhere (publishing it), ends leases, stops. Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    for (const [key, e] of this.#streams) {
      this.#publish(e, e.stream.flush());
      this.#streams.delete(key);
    }
    if (this.options.demandPcm) for (const s of this.#sessions.values()) this.#lease(s, false);
  }

  /** Streams open now. */
  get streams(): number {
    return this.#streams.size;
  }

  onState(env: Envelope): void {
    const p = parse('voice.state.connected', env);
    const key = `${env.provider}\n${env.tenant}\n${p.session_id}`;
    const alive = p.status === 'connected' || p.status === 'reconnecting';
    if (alive && !this.#sessions.has(key)) {
      if (this.#sessions.size >= this.options.maxSessions) {
        this.#runtime.count('sessions_refused');
        return;
      }
      const s = { provider: env.provider, tenant: env.tenant, sessionId: p.session_id };
      this.#sessions.set(key, s);
      if (this.options.demandPcm) this.#lease(s, true);
    } else if (!alive && this.#sessions.has(key)) {
      const s = this.#sessions.get(key)!;
      this.#sessions.delete(key);
      if (this.options.demandPcm) this.#lease(s, false);
      for (const [k, e] of this.#streams) {
        if (e.provider === s.provider && e.tenant === s.tenant && e.sessionId === s.sessionId) this.#close(k, e);
      }
    }
  }

  onSettings(env: Envelope): void {
    const p = parse('voice.vad.settings', env);
    const settings = settingsFrom(p);
    try {
      checkVadSettings(settings);
    } catch (e) {
      throw e instanceof DspOptionsError ? new PrometheanError('schema', `voice.vad.settings: ${e.message}`, { path: `payload.${e.path ?? ''}` }) : e;
    }
    const key = `${env.provider}\n${env.tenant}\n${p.session_id ?? '*'}`;
    if (!this.#settings.has(key) && this.#settings.size >= this.options.maxSessions) throw new PrometheanError('oversize', 'too many sessions with VAD settings');
    const merged = { ...this.#settings.get(key), ...settings };
    const full = { ...defaultVadSettings, ...merged };
    if (full.negativeThreshold > full.positiveThreshold) {
      throw new PrometheanError('schema', `voice.vad.settings: negativeThreshold (${full.negativeThreshold}) must not exceed positiveThreshold (${full.positiveThreshold})`, { path: 'payload.negative_threshold' });
    }
    const errors: string[] = [];
    for (const e of this.#streams.values()) {
      if (e.provider !== env.provider || e.tenant !== env.tenant || (p.session_id !== undefined && e.sessionId !== p.session_id)) continue;
      try {
        e.stream.update(settings);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    if (errors.length > 0) throw new PrometheanError('schema', `voice.vad.settings: ${errors[0]}`);
    this.#settings.set(key, merged);
    this.#runtime.count('settings_applied');
  }

  onPcm(env: Envelope, attachments: Uint8Array[]): void {
    if (this.#stopped) return;
    const p = parse('voice.audio.pcm', env);
    if (p.format.rate_hz !== BUS_PCM_FORMAT.rate_hz || p.format.channels !== 1) {
      throw new PrometheanError('unsupported', `voice.audio.pcm of ${p.format.rate_hz} Hz × ${p.format.channels} (the VAD worker reads the bus format, 48 kHz mono)`);
    }
    const bytes = p.attachment !== undefined ? attachments[p.attachment] : undefined;
    if (!bytes) throw new PrometheanError('bad_frame', 'voice.audio.pcm without its attachment', { path: 'payload.attachment' });
    if (bytes.byteLength % 2 !== 0 || bytes.byteLength > 48000 * 2) throw new PrometheanError('bad_frame', `PCM of ${bytes.byteLength} bytes is not whole s16 samples of at most 1 s`, { path: 'payload.attachment' });
    const key = `${env.provider}\n${env.tenant}\n${p.session_id}\n${p.user_id}`;
    let e = this.#streams.get(key);
    if (!e) {
      if (this.#streams.size >= this.options.maxStreams) {
        this.#runtime.count('streams_refused');
        return;
      }
      const settings = {
        ...this.#settings.get(`${env.provider}\n${env.tenant}\n*`),
        ...this.#settings.get(`${env.provider}\n${env.tenant}\n${p.session_id}`),
      };
      e = { provider: env.provider, tenant: env.tenant, sessionId: p.session_id, userId: p.user_id, stream: new VadStream(this.#model, settings), epochMs: Date.now(), queue: [], running: false, closing: false };
      this.#streams.set(key, e);
      this.#runtime.count('streams_opened');
    }
    // Copy out of the frame buffer (little-endian s16), which the bus may reuse.
    const pcm = new Int16Array(bytes.byteLength / 2);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < pcm.length; i++) pcm[i] = view.getInt16(2 * i, true);
    if (e.queue.length >= this.options.maxQueue) {
      e.queue.shift();
      this.#runtime.count('frames_dropped');
    }
    e.queue.push({ pcm, ts: BigInt(p.ts_monotonic_ns) });
    if (!e.running) void this.#drain(key, e);
  }

  async #drain(key: string, e: StreamEntry): Promise<void> {
    e.running = true;
    try {
      while (e.queue.length > 0 && !this.#stopped) {
        const f = e.queue.shift()!;
        this.#publish(e, await e.stream.push(f.pcm, f.ts));
        this.#runtime.count('frames');
      }
    } catch {
      // The model failed on this stream (the drain runs detached from any envelope, so nothing to
      // answer): count it and close the stream; its next frame opens a fresh one.
      this.#runtime.count('stream_errors');
      this.#close(key, e);
    } finally {
      e.running = false;
      if (e.closing) {
        e.closing = false;
        this.#publish(e, e.stream.flush());
      }
    }
  }

  #publish(e: StreamEntry, segments: TimedSegment[]): void {
    for (const s of segments) {
      const settings = e.stream.settings;
      this.#runtime.publish(
        'voice.audio.segment',
        {
          session_id: e.sessionId,
          user_id: e.userId,
          segment_id: `${e.sessionId}.${e.userId}.${e.epochMs}.${s.index}`,
          index: s.index,
          ts_start_ns: s.tsStartNs.toString(),
          ts_end_ns: s.tsEndNs.toString(),
          energy_rms: s.energyRms,
          ...(Number.isFinite(s.snrDb) ? { snr: Math.round(s.snrDb * 100) / 100 } : {}),
          vad: { model: SILERO_MODEL_NAME, threshold: settings.positiveThreshold },
          method: 'silero-v5',
          threshold: settings.positiveThreshold,
          silence_ms: settings.redemptionMs,
        },
        { provider: e.provider, tenant: e.tenant },
      );
      this.#runtime.count('segments');
    }
  }

  #close(key: string, e: StreamEntry): void {
    this.#streams.delete(key);
    if (e.running) e.closing = true;
    else this.#publish(e, e.stream.flush());
    e.queue.length = 0;
    this.#runtime.count('streams_closed');
  }

  #lease(s: { provider: string; tenant: string; sessionId: string }, on: boolean): void {
    this.#runtime.publish('voice.audio.pcm.demand', { session_id: s.sessionId, consumer: 'vad', ...(on ? {} : { user_ids: [] }), ttl_ms: this.options.leaseTtlMs }, { provider: s.provider, tenant: s.tenant });
  }

  #tick(): void {
    const now = performance.now();
    for (const [key, e] of this.#streams) if (!e.running && e.queue.length === 0 && now - e.stream.lastActivity > this.options.idleMs) this.#close(key, e);
    if (!this.options.demandPcm) return;
    const due = (this.#leasedAt ??= now);
    if (now - due >= this.options.leaseRenewMs) {
      this.#leasedAt = now;
      for (const s of this.#sessions.values()) this.#lease(s, true);
    }
  }

  #leasedAt: number | undefined;
}
