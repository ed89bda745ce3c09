/**
 * The `stt` worker: tokenless. Keeps a short in-memory ring of each speaker's PCM
 * (`voice.audio.pcm`, resampled to 16 kHz), and on each `voice.audio.segment` (from the server's VAD
 * worker or a browser holding the stream) cuts the segment's span from the ring by its session-clock
 * times, transcribes it through the `Stt` interface, and publishes `duck.transcript.segment` (final)
 * with word times on the session clock. Idempotent by segment id; a bounded work queue drops its
 * oldest segment (counted) when the engine falls behind. Users on a guild's opt-out list are never
 * transcribed and their PCM is never kept (docs/speech.md, "Live transcripts").
 *
 * Partials: an announcement of an open segment (`open: true`, the span heard so far) is transcribed
 * the same way and published with `final: false` and the same segment id, which the final replaces.
 * Finals come first: a partial starts only while no final waits or runs, at most one per speaker is
 * in flight, and a newer announcement replaces one still waiting (the older is skipped, counted). A
 * partial is never published once its segment's final arrived.
 */
import { BUS_PCM_FORMAT, PrometheanError, PAYLOAD_SCHEMAS, type Envelope, type KnownIntent, type PayloadOf } from '@promethean/shared';
import type { ModelRef, Stt, Transcript } from '../../speech/types.ts';
import type { TranscriptionPolicy } from './config.ts';
import { cutTimeToNs, SpeakerRings, type RingCut } from './ring.ts';

/** A model reference as envelopes carry it (`models`). */
export interface ModelStamp {
  name: string;
  version: string;
}

/** The part of the agent runtime the worker uses; `startStt()` builds it over `AgentRuntime`. */
export interface SttRuntime {
  subscribe(pattern: string, handler: (envelope: Envelope, attachments: Uint8Array[]) => void | Promise<void>): void;
  publish<I extends 'duck.transcript.segment' | 'voice.audio.pcm.demand'>(intent: I, payload: PayloadOf<I>, options: { provider: string; tenant: string; models?: ModelStamp[]; corr?: string }): unknown;
  count(name: string, by?: number): void;
  /** Reports DEGRADED in health while the engine falls behind (segments dropped), RUNNING once it caught up. */
  degraded?(on: boolean, reason?: string): void;
}

/** The engine for a tenant (`provider/tenant`) and guild, as speech.yml chooses it. */
export type SttFor = (scope: { tenant: string; guild?: string }) => Stt;

export interface SttWorkerOptions {
  /** Most speakers with a PCM ring at once; further speakers are refused (counted) until one expires. */
  maxSpeakers: number;
  /** Seconds of audio kept per speaker (the longest span a segment can be transcribed from). */
  ringSeconds: number;
  /** A speaker with no PCM for this long loses its ring. */
  idleMs: number;
  /** Segments waiting for the engine; beyond it the oldest is dropped (counted). */
  maxQueue: number;
  /** Transcriptions running at once (the local speech server runs one per engine). */
  concurrency: number;
  /** Segment ids remembered as done, so a redelivered segment is not transcribed twice. */
  maxDone: number;
  /** Most sessions whose guild and PCM lease are kept. */
  maxSessions: number;
  /** One transcription's time limit. */
  timeoutMs: number;
  /** How often PCM leases are renewed, and their time to live. */
  leaseRenewMs: number;
  leaseTtlMs: number;
  /** Lease PCM from the bridge for connected sessions (`voice.audio.pcm.demand`, consumer `stt`). */
  demandPcm: boolean;
  /** Transcribe announcements of open segments and publish them as partials (`final: false`). */
  partials: boolean;
  /** Partial transcriptions running at once (each for another speaker). */
  partialConcurrency: number;
}

export const defaultSttWorkerOptions: SttWorkerOptions = {
  maxSpeakers: 64,
  ringSeconds: 30,
  idleMs: 30_000,
  maxQueue: 32,
  concurrency: 1,
  maxDone: 4096,
  maxSessions: 256,
  timeoutMs: 120_000,
  leaseRenewMs: 10_000,
  leaseTtlMs: 30_000,
  demandPcm: true,
  partials: true,
  partialConcurrency: 1,
};

interface Job {
  key: string;
  provider: string;
  tenant: string;
  guild: string | undefined;
  segment: PayloadOf<'voice.audio.segment'>;
  cut: RingCut;
  /** Wall time the segment was published (its envelope's ts), ms since the epoch. */
  publishedAtMs: number;
  corr: string;
  /** An open segment's span so far, published as a partial (`final: false`). */
  partial: boolean;
}

interface Session {
  provider: string;
  tenant: string;
  sessionId: string;
  guildId: string;
}

/** A set that forgets its oldest entries beyond `max` (insertion order). */
class BoundedSet {
  readonly #max: number;
  readonly #items = new Set<string>();
  constructor(max: number) {
    this.#max = max;
  }
  has(v: string): boolean {
    return this.#items.has(v);
  }
  add(v: string): void {
    this.#items.delete(v);
    this.#items.add(v);
    while (this.#items.size > this.#max) this.#items.delete(this.#items.values().next().value!);
  }
  get size(): number {
    return this.#items.size;
  }
}

function parse<I extends KnownIntent>(intent: I, env: Envelope): PayloadOf<I> {
  const r = PAYLOAD_SCHEMAS[intent].safeParse(env.payload);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = ['payload', ...(issue?.path ?? []).map(String)].join('.');
    throw new PrometheanError('schema', `${intent} ${path}: ${issue?.message ?? 'invalid'}`, { path });
  }
  return r.data as PayloadOf<I>;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

export class SttWorker {
  readonly options: SttWorkerOptions;
  readonly #runtime: SttRuntime;
  readonly #sttFor: SttFor;
  readonly #policy: TranscriptionPolicy;
  readonly #rings: SpeakerRings;
  readonly #sessions = new Map<string, Session>();
  readonly #done: BoundedSet;
  /** Keys queued or running. */
  readonly #pending = new Set<string>();
  readonly #queue: Job[] = [];
  readonly #running = new Set<Promise<void>>();
  /** Segment keys whose final announcement arrived: later partials of them are stale. */
  readonly #closed: BoundedSet;
  /** Speaker key → the newest partial waiting (at most one per speaker; Map order = arrival order). */
  readonly #partialWaiting = new Map<string, Job>();
  /** Speaker key → its partial in flight. */
  readonly #partialRunning = new Map<string, Promise<void>>();
  readonly #abort = new AbortController();
  #scratch = new Int16Array(960);
  #timer: ReturnType<typeof setInterval> | undefined;
  #leasedAt: number | undefined;
  #stopped = false;

  constructor(runtime: SttRuntime, sttFor: SttFor, policy: TranscriptionPolicy, options: Partial<SttWorkerOptions> = {}) {
    this.#runtime = runtime;
    this.#sttFor = sttFor;
    this.#policy = policy;
    this.options = { ...defaultSttWorkerOptions, ...options };
    this.#rings = new SpeakerRings({ maxSpeakers: this.options.maxSpeakers, idleMs: this.options.idleMs, ring: { seconds: this.options.ringSeconds } });
    this.#done = new BoundedSet(this.options.maxDone);
    this.#closed = new BoundedSet(this.options.maxDone);
    const pc = this.options.partialConcurrency;
    if (!(Number.isInteger(pc) && pc >= 0 && pc <= 64)) throw new PrometheanError('bad_config', `partialConcurrency: ${pc} is not an integer 0 … 64`, { path: 'partialConcurrency' });
  }

  start(): void {
    this.#runtime.subscribe('promethean.p.*.t.*.voice.audio.pcm', (env, att) => this.onPcm(env, att));
    this.#runtime.subscribe('promethean.p.*.t.*.voice.audio.segment', (env) => this.onSegment(env));
    this.#runtime.subscribe('promethean.p.*.t.*.voice.state.connected', (env) => this.onState(env));
    this.#timer = setInterval(() => this.#tick(), Math.min(this.options.leaseRenewMs, 5000));
    this.#timer.unref?.();
  }

  /** Ends leases, drops every ring and queued segment, aborts running transcriptions and waits for them. Idempotent. */
  async stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      if (this.#timer) clearInterval(this.#timer);
      if (this.options.demandPcm) for (const s of this.#sessions.values()) this.#lease(s, false);
      this.#rings.clear();
      this.#queue.length = 0;
      this.#partialWaiting.clear();
      this.#abort.abort(new PrometheanError('invalid_state', 'the stt worker stopped'));
    }
    await Promise.allSettled([...this.#running, ...this.#partialRunning.values()]);
  }

  /** Speakers with a ring now. */
  get speakers(): number {
    return this.#rings.size;
  }

  /** Segments waiting for the engine. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Partials waiting for the engine (at most one per speaker). */
  get partialsWaiting(): number {
    return this.#partialWaiting.size;
  }

  /** Settles when nothing is queued or running (partials included). */
  async idle(): Promise<void> {
    while (this.#running.size > 0 || this.#partialRunning.size > 0) await Promise.allSettled([...this.#running, ...this.#partialRunning.values()]);
  }

  onState(env: Envelope): void {
    const p = parse('voice.state.connected', env);
    const key = `${env.provider}\n${env.tenant}\n${p.session_id}`;
    const alive = p.status === 'connected' || p.status === 'reconnecting';
    const known = this.#sessions.get(key);
    if (alive) {
      if (known) {
        known.guildId = p.guild_id;
        return;
      }
      if (this.#sessions.size >= this.options.maxSessions) {
        this.#runtime.count('sessions_refused');
        return;
      }
      const s = { provider: env.provider, tenant: env.tenant, sessionId: p.session_id, guildId: p.guild_id };
      this.#sessions.set(key, s);
      if (this.options.demandPcm && !this.#stopped) this.#lease(s, true);
    } else if (known) {
      this.#sessions.delete(key);
      if (this.options.demandPcm && !this.#stopped) this.#lease(known, false);
      this.#rings.deletePrefix(`${key}\n`);
    }
  }

  onPcm(env: Envelope, attachments: Uint8Array[]): void {
    if (this.#stopped || !this.#policy.enabled) return;
    const p = parse('voice.audio.pcm', env);
    if (p.format.rate_hz !== BUS_PCM_FORMAT.rate_hz || p.format.channels !== 1) {
      throw new PrometheanError('unsupported', `voice.audio.pcm of ${p.format.rate_hz} Hz × ${p.format.channels} (the stt worker reads the bus format, 48 kHz mono)`);
    }
    const bytes = p.attachment !== undefined ? attachments[p.attachment] : undefined;
    if (!bytes) throw new PrometheanError('bad_frame', 'voice.audio.pcm without its attachment', { path: 'payload.attachment' });
    if (bytes.byteLength % 2 !== 0 || bytes.byteLength > 48000 * 2) throw new PrometheanError('bad_frame', `PCM of ${bytes.byteLength} bytes is not whole s16 samples of at most 1 s`, { path: 'payload.attachment' });
    if (this.#optedOut(env, p.session_id, p.user_id)) {
      this.#runtime.count('pcm_opted_out');
      return;
    }
    const key = `${env.provider}\n${env.tenant}\n${p.session_id}\n${p.user_id}`;
    const ring = this.#rings.open(key);
    if (!ring) {
      this.#runtime.count('speakers_refused');
      return;
    }
    // The ring converts on push, so one scratch buffer serves every frame (little-endian s16).
    const n = bytes.byteLength / 2;
    if (this.#scratch.length < n) this.#scratch = new Int16Array(n);
    const pcm = this.#scratch.subarray(0, n);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < n; i++) pcm[i] = view.getInt16(2 * i, true);
    ring.push(pcm, BigInt(p.ts_monotonic_ns));
    this.#runtime.count('frames');
  }

  onSegment(env: Envelope): void {
    if (this.#stopped) return;
    const p = parse('voice.audio.segment', env);
    if (!this.#policy.enabled) {
      this.#runtime.count('segments_disabled');
      return;
    }
    const key = `${env.provider}\n${env.tenant}\n${p.session_id}:${p.segment_id}`;
    if (p.open === true) {
      this.#onOpen(env, p, key);
      return;
    }
    this.#closed.add(key);
    if (this.#done.has(key) || this.#pending.has(key)) {
      this.#runtime.count('segments_duplicate');
      return;
    }
    if (this.#optedOut(env, p.session_id, p.user_id)) {
      this.#runtime.count('segments_opted_out');
      return;
    }
    const ring = this.#rings.get(`${env.provider}\n${env.tenant}\n${p.session_id}\n${p.user_id}`);
    // Cut now: a slow engine must not let the ring overwrite the span while the segment waits.
    const cut = ring?.cut(BigInt(p.ts_start_ns), BigInt(p.ts_end_ns));
    if (!cut) {
      this.#runtime.count('segments_without_audio');
      return;
    }
    if (this.#queue.length >= this.options.maxQueue) {
      const dropped = this.#queue.shift()!;
      this.#pending.delete(dropped.key);
      this.#runtime.count('segments_dropped');
      this.#runtime.degraded?.(true, 'the speech engine falls behind: segments dropped');
    }
    this.#pending.add(key);
    this.#queue.push(this.#job(env, p, key, cut, false));
    this.#runtime.count('segments_queued');
    // Its partial still waiting is stale now.
    const speaker = speakerKey(env, p);
    if (this.#partialWaiting.get(speaker)?.key === key) {
      this.#partialWaiting.delete(speaker);
      this.#runtime.count('partials_skipped');
    }
    this.#pump();
  }

  /** An open segment's announcement: becomes the speaker's waiting partial (replacing an older one). */
  #onOpen(env: Envelope, p: PayloadOf<'voice.audio.segment'>, key: string): void {
    if (!this.options.partials) {
      this.#runtime.count('partials_off');
      return;
    }
    if (this.#closed.has(key) || this.#done.has(key) || this.#pending.has(key)) {
      this.#runtime.count('partials_late');
      return;
    }
    if (this.#optedOut(env, p.session_id, p.user_id)) {
      this.#runtime.count('segments_opted_out');
      return;
    }
    const speaker = speakerKey(env, p);
    const cut = this.#rings.get(speaker)?.cut(BigInt(p.ts_start_ns), BigInt(p.ts_end_ns));
    if (!cut) {
      this.#runtime.count('segments_without_audio');
      return;
    }
    // One waiting per speaker, and never more than maxSpeakers (the oldest waiting goes).
    if (this.#partialWaiting.delete(speaker)) this.#runtime.count('partials_skipped');
    else if (this.#partialWaiting.size >= this.options.maxSpeakers) {
      this.#partialWaiting.delete(this.#partialWaiting.keys().next().value!);
      this.#runtime.count('partials_skipped');
    }
    this.#partialWaiting.set(speaker, this.#job(env, p, key, cut, true));
    this.#pump();
  }

  /** A transcription job for a segment (final) or an open segment's announcement (partial). */
  #job(env: Envelope, p: PayloadOf<'voice.audio.segment'>, key: string, cut: Job['cut'], partial: boolean): Job {
    const publishedAtMs = Date.parse(env.ts);
    return {
      key,
      provider: env.provider,
      tenant: env.tenant,
      guild: this.#sessions.get(`${env.provider}\n${env.tenant}\n${p.session_id}`)?.guildId,
      segment: p,
      cut,
      publishedAtMs: Number.isFinite(publishedAtMs) ? publishedAtMs : Date.now(),
      corr: env.corr ?? env.id,
      partial,
    };
  }

  #optedOut(env: Envelope, sessionId: string, userId: string): boolean {
    const guild = this.#sessions.get(`${env.provider}\n${env.tenant}\n${sessionId}`)?.guildId;
    return this.#policy.optedOut(`${env.provider}/${env.tenant}`, guild, userId);
  }

  #pump(): void {
    while (!this.#stopped && this.#running.size < this.options.concurrency && this.#queue.length > 0) {
      const job = this.#queue.shift()!;
      const run: Promise<void> = this.#run(job).finally(() => {
        this.#running.delete(run);
        this.#pending.delete(job.key);
        this.#pump();
      });
      this.#running.add(run);
    }
    // Partials only while no final waits or runs; the oldest waiting speaker first, one per speaker.
    if (!this.#stopped && this.#queue.length === 0 && this.#running.size === 0) {
      for (const [speaker, job] of this.#partialWaiting) {
        if (this.#partialRunning.size >= this.options.partialConcurrency) break;
        if (this.#partialRunning.has(speaker)) continue;
        this.#partialWaiting.delete(speaker);
        const run: Promise<void> = this.#run(job).finally(() => {
          this.#partialRunning.delete(speaker);
          this.#pump();
        });
        this.#partialRunning.set(speaker, run);
      }
    }
    if (!this.#stopped && this.#queue.length === 0 && this.#running.size === 0) this.#runtime.degraded?.(false);
  }

  async #run(job: Job): Promise<void> {
    const tenant = `${job.provider}/${job.tenant}`;
    let transcript: Transcript;
    try {
      const stt = this.#sttFor({ tenant, ...(job.guild !== undefined ? { guild: job.guild } : {}) });
      const language = this.#policy.language(tenant, job.guild);
      transcript = await stt.transcribe({
        pcm: job.cut.pcm,
        sampleRate: job.cut.rate,
        // A partial is only shown, never stored or searched: its word times would cost engine time a final may be waiting for.
        words: !job.partial,
        ...(language ? { language } : {}),
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.options.timeoutMs)]),
      });
    } catch (error) {
      // Detached from any handler, so nothing to answer: counted, and the segment is not marked done
      // (a redelivery may try again).
      if (!this.#stopped) {
        const name = job.partial ? 'partial_errors' : 'stt_errors';
        this.#runtime.count(name);
        this.#runtime.count(`${name}.${error instanceof PrometheanError ? error.code : 'internal'}`);
      }
      return;
    }
    if (this.#stopped) return;
    if (job.partial) {
      // The final arrived while this ran: it replaces this, so this is never shown.
      if (this.#closed.has(job.key) || this.#done.has(job.key)) {
        this.#runtime.count('partials_late');
        return;
      }
      this.#publish(job, transcript);
      this.#runtime.count('partials');
      return;
    }
    this.#publish(job, transcript);
    this.#done.add(job.key);
    this.#runtime.count('transcripts');
  }

  #publish(job: Job, t: Transcript): void {
    const s = job.segment;
    const startNs = BigInt(s.ts_start_ns);
    const endNs = BigInt(s.ts_end_ns);
    const offsetMs = (sec: number) => {
      const ns = cutTimeToNs(job.cut, sec);
      const clamped = ns < startNs ? startNs : ns > endNs ? endNs : ns;
      return round3(Number(clamped - startNs) / 1e6);
    };
    const words = t.words
      .filter((w) => w.word.length > 0 && Number.isFinite(w.start) && Number.isFinite(w.end))
      .slice(0, 5000)
      .map((w) => {
        const start_ms = offsetMs(w.start);
        return {
          word: w.word.slice(0, 256),
          start_ms,
          end_ms: Math.max(start_ms, offsetMs(w.end)),
          ...(w.probability !== undefined && w.probability >= 0 && w.probability <= 1 ? { p: w.probability } : {}),
        };
      });
    const language = /^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$/.test(t.language) ? t.language : this.#policy.language(`${job.provider}/${job.tenant}`, job.guild);
    this.#runtime.publish(
      'duck.transcript.segment',
      {
        session_id: s.session_id,
        segment_id: s.segment_id,
        speaker: s.user_id,
        text: t.text.slice(0, 20_000),
        ts_start_ns: s.ts_start_ns,
        ts_end_ns: s.ts_end_ns,
        confidence: confidenceOf(t),
        // The OpenAI-compatible API reports no token count: this is the number of words recognised.
        tokens: words.length > 0 ? words.length : t.text.split(/\s+/).filter(Boolean).length,
        latency_ms: Math.max(0, Date.now() - job.publishedAtMs),
        rtf: Number.isFinite(t.rtf) && t.rtf >= 0 ? round3(t.rtf) : 0,
        ...(language ? { language } : {}),
        final: !job.partial,
        words,
      },
      { provider: job.provider, tenant: job.tenant, models: t.models.map(modelStamp), corr: job.corr },
    );
  }

  #lease(s: Session, on: boolean): void {
    this.#runtime.publish('voice.audio.pcm.demand', { session_id: s.sessionId, consumer: 'stt', ...(on ? {} : { user_ids: [] }), ttl_ms: this.options.leaseTtlMs }, { provider: s.provider, tenant: s.tenant });
  }

  #tick(): void {
    const expired = this.#rings.expire();
    if (expired > 0) this.#runtime.count('speakers_expired', expired);
    if (!this.options.demandPcm || this.#stopped) return;
    const now = performance.now();
    this.#leasedAt ??= now;
    if (now - this.#leasedAt >= this.options.leaseRenewMs) {
      this.#leasedAt = now;
      for (const s of this.#sessions.values()) this.#lease(s, true);
    }
  }
}

/** The ring and partial-scheduling key of a segment's speaker. */
function speakerKey(env: Envelope, p: { session_id: string; user_id: string }): string {
  return `${env.provider}\n${env.tenant}\n${p.session_id}\n${p.user_id}`;
}

/** `engine/model` and the backend (or endpoint) it ran on, as envelopes carry models. */
export function modelStamp(m: ModelRef): ModelStamp {
  return { name: `${m.engine}/${m.model}`, version: m.backend ?? m.endpoint };
}

/** Mean word probability; else the mean of exp(avg log-prob) over segments; else 0 (the engine said nothing). */
export function confidenceOf(t: Transcript): number {
  const ps = t.words.map((w) => w.probability).filter((p): p is number => p !== undefined && Number.isFinite(p));
  if (ps.length > 0) return clamp01(ps.reduce((a, b) => a + b, 0) / ps.length);
  const lps = t.segments.map((s) => s.avgLogprob).filter((p): p is number => p !== undefined && Number.isFinite(p));
  if (lps.length > 0) return clamp01(lps.reduce((a, b) => a + Math.exp(b), 0) / lps.length);
  return 0;
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}
