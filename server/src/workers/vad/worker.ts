/**
 * The `vad` worker: tokenless. Consumes every speaker's `voice.audio.pcm` (48 kHz s16 mono, 20 ms
 * frames), runs one {@link VadStream} per (provider, tenant, session, user), and publishes
 * `voice.audio.segment` on the same provider/tenant. It keeps the bridge decoding PCM for each
 * connected session with `voice.audio.pcm.demand` leases, and applies `voice.vad.settings` live.
 * While a speaker's speech goes on, it announces the open segment (`open: true`, the span heard so
 * far, same `segment_id` as the final announcement) every `openEveryMs` of audio, so the STT worker
 * can caption long utterances before they end.
 * This is the server's fallback runner for a stream no browser holds (docs/dsp.md).
 */
import { BUS_PCM_FORMAT, checkVadSettings, defaultVadSettings, DspOptionsError, PrometheanError, voicePayloads, type Envelope, type PayloadOf, type VadSettings } from '@promethean/shared';
import { SILERO_MODEL_NAME, type SileroModel } from '../../dsp/silero.ts';
import { VadStream, type TimedSegment } from './stream.ts';
import { parseLease, SERVER_HOLDER, type VadLease } from './leases.ts';

/** The part of the shared agent runtime the worker uses (`AgentRuntime` satisfies it). */
export interface VadRuntime {
  subscribe(pattern: string, handler: (envelope: Envelope, attachments: Uint8Array[]) => void | Promise<void>): void;
  publish(intent: 'voice.audio.segment' | 'voice.audio.pcm.demand' | 'dsp.streams', payload: PayloadOf<'voice.audio.segment'> | PayloadOf<'voice.audio.pcm.demand'> | PayloadOf<'dsp.streams'>, options: { provider: string; tenant: string }): unknown;
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
  /**
   * While speech goes on, announce the open segment (`open: true`) once it is this long and again
   * after each further stretch of this much audio; 0 = only finished segments are published.
   */
  openEveryMs: number;
  /**
   * The bridge sends nothing while a speaker is silent: a stream in open speech whose frames stopped
   * arriving this long ago is fed silence for the time since (less this margin), so its speech ends
   * after the usual hang-over instead of at the speaker's next frame. 0 = off. A frame that arrives
   * after silence covered its time is dropped (counted `frames_late`) to keep the clock honest.
   */
  silenceAfterMs: number;
}

export const defaultVadWorkerOptions: VadWorkerOptions = {
  maxStreams: 256,
  maxSessions: 256,
  maxQueue: 100,
  idleMs: 30_000,
  leaseRenewMs: 10_000,
  leaseTtlMs: 30_000,
  demandPcm: true,
  openEveryMs: 1000,
  silenceAfterMs: 150,
};

/** How often streams whose frames stopped are checked. */
const SILENCE_CHECK_MS = 25;
/** Half a 20 ms bus frame: a frame starting this far before the audio heard overlaps it. */
const HALF_FRAME_NS = 10_000_000n;

interface StreamEntry {
  provider: string;
  tenant: string;
  sessionId: string;
  userId: string;
  stream: VadStream;
  /** Origin of the stream's ids (ms of its first frame), so a restarted worker never repeats one. */
  epochMs: number;
  /** Frames to feed; `pcm: null` = silence up to `ts` (frames stopped). */
  queue: Array<{ pcm: Int16Array | null; ts: bigint }>;
  /** Stream time just after the last frame that arrived, and when it arrived (performance.now()). */
  lastEndNs: bigint;
  lastArrival: number;
  running: boolean;
  /** Closed while a frame was in the model: the drain loop flushes it when done. */
  closing: boolean;
  /** The open segment last announced: its index and the end of the span announced (ns). */
  announced: { index: number; tsEndNs: bigint } | undefined;
  /** A browser holds the stream's DSP lease (`dsp.lease`): its PCM is not run here and nothing is published. */
  paused?: boolean;
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
  #silenceTimer: ReturnType<typeof setInterval> | undefined;
  #lastSilenceCheck = 0;
  #stopped = false;

  constructor(runtime: VadRuntime, model: SileroModel, options: Partial<VadWorkerOptions> = {}) {
    this.#runtime = runtime;
    this.#model = model;
    this.options = { ...defaultVadWorkerOptions, ...options };
    for (const name of ['openEveryMs', 'silenceAfterMs'] as const) {
      const v = this.options[name];
      if (!(Number.isFinite(v) && v >= 0 && v <= 3_600_000)) throw new PrometheanError('bad_config', `${name}: ${v} is not 0 … 3,600,000 ms`, { path: name });
    }
  }

  start(): void {
    this.#runtime.subscribe('promethean.p.*.t.*.voice.audio.pcm', (env, att) => this.onPcm(env, att));
    this.#runtime.subscribe('promethean.p.*.t.*.voice.vad.settings', (env) => this.onSettings(env));
    this.#runtime.subscribe('promethean.p.*.t.*.voice.state.connected', (env) => this.onState(env));
    this.#runtime.subscribe('promethean.p.*.t.*.dsp.lease', (env) => this.onLease(env));
    this.#timer = setInterval(() => this.#tick(), Math.min(this.options.leaseRenewMs, 5000));
    this.#timer.unref?.();
    if (this.options.silenceAfterMs > 0) {
      this.#lastSilenceCheck = performance.now();
      this.#silenceTimer = setInterval(() => this.#padStalled(), SILENCE_CHECK_MS);
      this.#silenceTimer.unref?.();
    }
  }

  /** Ends open speech everywhere (publishing it), ends leases, stops. Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#silenceTimer) clearInterval(this.#silenceTimer);
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
      e = { provider: env.provider, tenant: env.tenant, sessionId: p.session_id, userId: p.user_id, stream: new VadStream(this.#model, settings), epochMs: Date.now(), queue: [], lastEndNs: 0n, lastArrival: 0, running: false, closing: false, announced: undefined };
      this.#streams.set(key, e);
      this.#runtime.count('streams_opened');
      this.#report(e.provider, e.tenant);
    }
    if (e.paused) {
      // Offloaded to a browser: kept open (and reported) so the server can take it back at once.
      e.stream.lastActivity = performance.now();
      this.#runtime.count('frames_offloaded');
      return;
    }
    // Copy out of the frame buffer (little-endian s16), which the bus may reuse.
    const pcm = new Int16Array(bytes.byteLength / 2);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < pcm.length; i++) pcm[i] = view.getInt16(2 * i, true);
    if (e.queue.length >= this.options.maxQueue) {
      e.queue.shift();
      this.#runtime.count('frames_dropped');
    }
    const ts = BigInt(p.ts_monotonic_ns);
    e.queue.push({ pcm, ts });
    e.lastEndNs = ts + (BigInt(pcm.length) * 1_000_000_000n) / BigInt(BUS_PCM_FORMAT.rate_hz);
    e.lastArrival = performance.now();
    if (!e.running) void this.#drain(key, e);
  }

  async #drain(key: string, e: StreamEntry): Promise<void> {
    e.running = true;
    try {
      while (e.queue.length > 0 && !this.#stopped) {
        const f = e.queue.shift()!;
        if (f.pcm === null) {
          this.#publish(e, await e.stream.padSilenceTo(f.ts));
          this.#announce(e);
          continue;
        }
        const heard = e.stream.heardNs();
        if (heard !== undefined && f.ts + HALF_FRAME_NS < heard) {
          // Silence was fed for this frame's time already (it came that late): the clock wins.
          this.#runtime.count('frames_late');
          continue;
        }
        this.#publish(e, await e.stream.push(f.pcm, f.ts));
        this.#announce(e);
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

  /**
   * Queues silence for streams in open speech whose frames stopped `silenceAfterMs` ago, up to the
   * stream time that has passed since (less the margin). Skipped when this timer itself ran late: the
   * process was busy, and frames may be waiting to be read.
   */
  #padStalled(): void {
    const now = performance.now();
    const late = now - this.#lastSilenceCheck > SILENCE_CHECK_MS + 50;
    this.#lastSilenceCheck = now;
    if (late || this.#stopped) return;
    const after = this.options.silenceAfterMs;
    for (const [key, e] of this.#streams) {
      if (e.running || e.queue.length > 0 || now - e.lastArrival < after || !e.stream.openSegment()) continue;
      const to = e.lastEndNs + BigInt(Math.round((now - e.lastArrival - after) * 1e6));
      const heard = e.stream.heardNs();
      if (heard === undefined || to <= heard) continue;
      e.queue.push({ pcm: null, ts: to });
      this.#runtime.count('silence_padded');
      void this.#drain(key, e);
    }
  }

  #segmentId(e: StreamEntry, index: number): string {
    return `${e.sessionId}.${e.userId}.${e.epochMs}.${index}`;
  }

  /** Announces the open segment when another `openEveryMs` of it was heard since the last time. */
  #announce(e: StreamEntry): void {
    if (e.paused) return;
    const every = BigInt(Math.round(this.options.openEveryMs * 1e6));
    if (every <= 0n) return;
    const open = e.stream.openSegment();
    if (!open) return;
    const since = e.announced?.index === open.index ? e.announced.tsEndNs : open.tsStartNs;
    if (open.tsEndNs - since < every) return;
    e.announced = { index: open.index, tsEndNs: open.tsEndNs };
    const settings = e.stream.settings;
    this.#runtime.publish(
      'voice.audio.segment',
      {
        session_id: e.sessionId,
        user_id: e.userId,
        segment_id: this.#segmentId(e, open.index),
        index: open.index,
        ts_start_ns: open.tsStartNs.toString(),
        ts_end_ns: open.tsEndNs.toString(),
        open: true,
        vad: { model: SILERO_MODEL_NAME, threshold: settings.positiveThreshold },
        method: 'silero-v5',
        threshold: settings.positiveThreshold,
      },
      { provider: e.provider, tenant: e.tenant },
    );
    this.#runtime.count('segments_open');
  }

  #publish(e: StreamEntry, segments: TimedSegment[]): void {
    // A frame that was in the model when a browser took the lease: its result is the browser's to publish.
    if (e.paused) return;
    for (const s of segments) {
      const settings = e.stream.settings;
      this.#runtime.publish(
        'voice.audio.segment',
        {
          session_id: e.sessionId,
          user_id: e.userId,
          segment_id: this.#segmentId(e, s.index),
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
    this.#report(e.provider, e.tenant);
  }

  /**
   * The DSP offload scheduler moved a stream (`dsp.lease`): held by the server, the stream runs from
   * the lease's index and epoch (a fresh detector when it was paused); held by a browser (or ended),
   * it pauses, dropping its open speech (the new holder publishes from the same index).
   */
  onLease(env: Envelope): void {
    const lease = parseLease(env);
    const e = this.#streams.get(`${env.provider}\n${env.tenant}\n${lease.session_id}\n${lease.user_id}`);
    if (!e) return;
    this.#follow(e, lease);
    this.#report(e.provider, e.tenant);
  }

  #follow(e: StreamEntry, lease: VadLease): void {
    const fresh = () => {
      const settings = { ...this.#settings.get(`${e.provider}\n${e.tenant}\n*`), ...this.#settings.get(`${e.provider}\n${e.tenant}\n${e.sessionId}`) };
      const lastActivity = e.stream.lastActivity;
      e.stream = new VadStream(this.#model, settings);
      // Idle expiry counts from the last frame, not from the move.
      e.stream.lastActivity = lastActivity;
      e.announced = undefined;
    };
    if (lease.holder !== SERVER_HOLDER) {
      if (e.paused) return;
      e.paused = true;
      e.queue.length = 0;
      fresh();
      this.#runtime.count('streams_offloaded');
      return;
    }
    if (e.paused) {
      e.paused = false;
      fresh();
      this.#runtime.count('streams_resumed');
    }
    e.epochMs = lease.epoch_ms;
    if (e.stream.nextIndex !== lease.next_index) e.stream.continueFrom(lease.next_index);
  }

  /** Tells the offload scheduler which streams of a provider/tenant this worker has, and which it runs. */
  #report(provider: string, tenant: string): void {
    if (this.#stopped) return;
    const streams: PayloadOf<'dsp.streams'>['streams'] = [];
    for (const e of this.#streams.values()) {
      if (e.provider !== provider || e.tenant !== tenant) continue;
      streams.push({ session_id: e.sessionId, user_id: e.userId, epoch_ms: e.epochMs, next_index: e.stream.nextIndex, running: !e.paused });
    }
    this.#runtime.publish('dsp.streams', { streams }, { provider, tenant });
  }

  #lease(s: { provider: string; tenant: string; sessionId: string }, on: boolean): void {
    this.#runtime.publish('voice.audio.pcm.demand', { session_id: s.sessionId, consumer: 'vad', ...(on ? {} : { user_ids: [] }), ttl_ms: this.options.leaseTtlMs }, { provider: s.provider, tenant: s.tenant });
  }

  #tick(): void {
    const now = performance.now();
    for (const [key, e] of this.#streams) if (!e.running && e.queue.length === 0 && now - e.stream.lastActivity > this.options.idleMs) this.#close(key, e);
    const tenants = new Map<string, { provider: string; tenant: string }>();
    for (const e of this.#streams.values()) tenants.set(`${e.provider}\n${e.tenant}`, { provider: e.provider, tenant: e.tenant });
    for (const t of tenants.values()) this.#report(t.provider, t.tenant);
    if (!this.options.demandPcm) return;
    const due = (this.#leasedAt ??= now);
    if (now - due >= this.options.leaseRenewMs) {
      this.#leasedAt = now;
      for (const s of this.#sessions.values()) this.#lease(s, true);
    }
  }

  #leasedAt: number | undefined;
}
