/**
 * The transcript indexer: tokenless, provider-agnostic, in the server process (PGlite is
 * single-process, as for the message indexer). Every final `duck.transcript.segment` is kept by
 * `{session_id}:{segment_id}` (a repeat changes nothing); partials (`final: false`, published about
 * once a second while someone speaks, each replaced by the next and by the final) are only counted,
 * never written, so the store holds what was finally said; a retention period per (provider,
 * tenant), 30 days unless configured, deletes old transcripts on a timer; `deleteSpeaker()` removes
 * everything one user said in a tenant.
 */
import { PAYLOAD_SCHEMAS, PrometheanError, type Envelope, type PayloadOf } from '@promethean/shared';
import type { Store, TenantScope } from '../../store/index.ts';

/** What the worker needs of the agent runtime (`AgentRuntime` satisfies it). */
export interface TranscriptIndexerRuntime {
  subscribe(pattern: string, handler: (envelope: Envelope) => void | Promise<void>): void;
  count(name: string, by?: number): void;
}

export interface TranscriptIndexerOptions {
  /** Retention in days per `provider/tenant`, with `*` for the rest (see parseRetention). */
  retentionDays: Record<string, number>;
  /** Days kept for a tenant that neither its own entry nor `*` covers. */
  defaultRetentionDays: number;
  /** Seconds between retention sweeps. */
  retentionSweepS: number;
  /** Store writes in flight at once; a transcript beyond it is refused (counted, answered with an error). */
  maxPending: number;
}

export const defaultTranscriptIndexerOptions: TranscriptIndexerOptions = {
  retentionDays: {},
  defaultRetentionDays: 30,
  retentionSweepS: 3600,
  maxPending: 1000,
};

const DAY_MS = 86_400_000;

export class TranscriptIndexer {
  readonly options: TranscriptIndexerOptions;
  readonly #runtime: TranscriptIndexerRuntime;
  readonly #store: Store;
  readonly #inflight = new Set<Promise<unknown>>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #sweeping: Promise<number> | undefined;
  #stopped = false;

  constructor(runtime: TranscriptIndexerRuntime, store: Store, options: Partial<TranscriptIndexerOptions> = {}) {
    this.options = { ...defaultTranscriptIndexerOptions, ...options };
    for (const [k, d] of Object.entries({ ...this.options.retentionDays, default: this.options.defaultRetentionDays })) {
      if (!(Number.isFinite(d) && d > 0)) throw new PrometheanError('bad_config', `transcript retention of ${k}: must be a positive number of days`, { path: `retentionDays.${k}` });
    }
    this.#runtime = runtime;
    this.#store = store;
  }

  start(): void {
    this.#runtime.subscribe('promethean.p.*.t.*.duck.transcript.segment', (env) => this.onTranscript(env));
    this.#timer = setInterval(() => void this.sweepRetention().catch(() => this.#runtime.count('retention.failed')), this.options.retentionSweepS * 1000);
    this.#timer.unref?.();
  }

  /** Stops the timer and waits for writes in flight. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    await Promise.allSettled([...this.#inflight, ...(this.#sweeping ? [this.#sweeping] : [])]);
  }

  /** Days a tenant's transcripts are kept. */
  retentionOf(scope: TenantScope): number {
    return this.options.retentionDays[`${scope.provider}/${scope.tenant}`] ?? this.options.retentionDays['*'] ?? this.options.defaultRetentionDays;
  }

  async onTranscript(env: Envelope): Promise<void> {
    if (this.#stopped) throw new PrometheanError('invalid_state', 'the transcript indexer stopped');
    const r = PAYLOAD_SCHEMAS['duck.transcript.segment'].safeParse(env.payload);
    if (!r.success) {
      const issue = r.error.issues[0];
      const path = ['payload', ...(issue?.path ?? []).map(String)].join('.');
      this.#runtime.count('rejected.duck.transcript.segment');
      throw new PrometheanError('schema', `duck.transcript.segment ${path}: ${issue?.message ?? 'invalid'}`, { path });
    }
    if (!r.data.final) {
      this.#runtime.count('skipped.partial');
      return;
    }
    if (this.#inflight.size >= this.options.maxPending) {
      this.#runtime.count('refused_busy');
      throw new PrometheanError('rate_limited', `the transcript indexer has ${this.#inflight.size} writes in flight`);
    }
    const p: PayloadOf<'duck.transcript.segment'> = r.data;
    const model = env.models?.[0]?.name;
    const write = this.#store.upsertTranscript({
      provider: env.provider,
      tenant: env.tenant,
      session_id: p.session_id,
      segment_id: p.segment_id,
      speaker_id: p.speaker,
      text: p.text,
      start_ns: p.ts_start_ns,
      end_ns: p.ts_end_ns,
      lang: p.language ?? null,
      confidence: p.confidence,
      model: model ? model.slice(0, 128) : null,
      final: p.final,
      words: p.words ?? [],
      tokens: p.tokens,
      rtf: p.rtf ?? null,
      transcribed_at: env.ts,
    });
    this.#inflight.add(write);
    try {
      this.#runtime.count(`stored.${await write}`);
    } catch (error) {
      this.#runtime.count('store_errors');
      throw error;
    } finally {
      this.#inflight.delete(write);
    }
  }

  /** Deletes every transcript of `speakerId` in the tenant; returns how many. */
  async deleteSpeaker(scope: TenantScope, speakerId: string): Promise<number> {
    const n = await this.#store.deleteSpeakerTranscripts(scope, speakerId);
    this.#runtime.count('deleted.speaker', n);
    return n;
  }

  /** Deletes transcripts past each tenant's retention; returns how many. One sweep at a time. */
  sweepRetention(now: Date = new Date()): Promise<number> {
    this.#sweeping ??= (async () => {
      let total = 0;
      try {
        for (const scope of await this.#store.transcriptTenants()) {
          const n = await this.#store.purgeTranscriptsBefore(scope, new Date(now.getTime() - this.retentionOf(scope) * DAY_MS));
          total += n;
          this.#runtime.count('retention.deleted', n);
        }
      } finally {
        this.#sweeping = undefined;
      }
      return total;
    })();
    return this.#sweeping;
  }
}
