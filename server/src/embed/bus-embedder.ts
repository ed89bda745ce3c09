/**
 * The server's `Embedder` for queries: it never runs the model (a model run would block the hub's
 * event loop) but asks the embedder process over the bus: `embed.query` out, `embed.query.result` back
 * with the request's id as `corr` (an id → pending map, bounded, each request with a timeout, all
 * rejected on close; as `BusRestClient` does for REST).
 *
 * Whether an embedder is connected is read from its `health` envelopes (every agent publishes one
 * every few seconds, and the embedder one with state STOPPED when it stops): `available` is true while
 * the latest from an embedder id is RUNNING or DEGRADED and younger than `presenceTtlMs`.
 *
 * Queries travel under provider/tenant `promethean`/`system`, which no moderator session can read: a
 * moderator's search text is not shown to the other sessions of its tenant.
 */
import {
  embedPayloads,
  InvalidStateError,
  MINILM_L6_V2,
  PrometheanError,
  type Embedder,
  type Envelope,
  type ErrorCode,
  type SentenceModelSpec,
} from '@promethean/shared';
import type { PublishingRuntime } from '../workers/indexer/rest-client.ts';
import { unpackVectors } from './wire.ts';

/** What the client needs of the agent runtime (`AgentRuntime` satisfies it). */
export interface BusEmbedderRuntime extends PublishingRuntime {
  subscribe(pattern: string, handler: (envelope: Envelope, attachments: Uint8Array[]) => void | Promise<void>): void;
}

export interface BusEmbedderOptions {
  /** The model whose vectors are stored; an embedder answering with another one is refused. */
  spec: SentenceModelSpec;
  /** How long one query may take, the embedder's queue included. */
  timeoutMs: number;
  /** Queries awaiting an answer at most; more are refused with `rate_limited`. */
  maxPending: number;
  /** How long an embedder's last health envelope counts as "connected" (3 of its 5 s intervals). */
  presenceTtlMs: number;
  /** Agent ids that embed (their health envelopes mean an embedder is there). */
  embedderIds: readonly string[];
  /** Clock for presence (milliseconds). */
  now: () => number;
}

export const defaultBusEmbedderOptions: BusEmbedderOptions = {
  spec: MINILM_L6_V2,
  timeoutMs: 15_000,
  maxPending: 64,
  presenceTtlMs: 15_000,
  embedderIds: ['message-embedder'],
  now: () => performance.now(),
};

/** Where queries, answers and the embedders' health travel (see the module comment). */
export const QUERY_SCOPE = { provider: 'promethean', tenant: 'system' } as const;

/** How to get one: shown by `GET /api/search` when semantic search has no embedder. */
export const START_EMBEDDER_HINT =
  'no message-embedder is connected to the hub; `promethean start` runs it when all-MiniLM-L6-v2 is installed (scripts/install-models.sh), or start it by hand: node --import tsx server/src/workers/embedder/main.ts';

interface Pending {
  count: number;
  resolve: (v: Float32Array[]) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export interface BusEmbedderCounters {
  queries: number;
  answered: number;
  timeouts: number;
  refusedBusy: number;
  refusedUnavailable: number;
  /** Answers that were malformed or made by another model. */
  badAnswers: number;
}

export class BusEmbedder implements Embedder {
  readonly model: string;
  readonly dimensions: number;
  readonly options: BusEmbedderOptions;
  readonly #runtime: BusEmbedderRuntime;
  readonly #pending = new Map<string, Pending>();
  /** Embedder id → when its last health came, and its state. */
  readonly #presence = new Map<string, { at: number; state: string }>();
  readonly #counters: BusEmbedderCounters = { queries: 0, answered: 0, timeouts: 0, refusedBusy: 0, refusedUnavailable: 0, badAnswers: 0 };
  #closed = false;

  constructor(runtime: BusEmbedderRuntime, options: Partial<BusEmbedderOptions> = {}) {
    this.options = { ...defaultBusEmbedderOptions, ...options };
    this.model = this.options.spec.id;
    this.dimensions = this.options.spec.dimensions;
    this.#runtime = runtime;
  }

  /** Subscribes to answers, errors and health under {@link QUERY_SCOPE}. */
  start(): void {
    const base = `promethean.p.${QUERY_SCOPE.provider}.t.${QUERY_SCOPE.tenant}`;
    this.#runtime.subscribe(`${base}.embed.query.result`, (env, attachments) => this.#onResult(env, attachments));
    this.#runtime.subscribe(`${base}.error`, (env) => this.#onError(env));
    this.#runtime.subscribe(`${base}.health`, (env) => this.#onHealth(env));
  }

  /** Whether an embedder is connected (its health is recent and it is running). */
  get available(): boolean {
    const now = this.options.now();
    for (const p of this.#presence.values()) {
      if ((p.state === 'RUNNING' || p.state === 'DEGRADED') && now - p.at <= this.options.presenceTtlMs) return true;
    }
    return false;
  }

  get pending(): number {
    return this.#pending.size;
  }

  get counters(): Readonly<BusEmbedderCounters> {
    return { ...this.#counters };
  }

  /**
   * One vector per text, made by the embedder process. Rejects with `unavailable` when no embedder
   * is connected, `rate_limited` beyond `maxPending`, `timeout` after `timeoutMs`, or the embedder's
   * own error code.
   */
  embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (this.#closed) return Promise.reject(new InvalidStateError('the bus embedder is closed'));
    if (texts.length === 0) return Promise.resolve([]);
    if (!this.available) {
      this.#counters.refusedUnavailable++;
      return Promise.reject(new PrometheanError('unavailable', START_EMBEDDER_HINT));
    }
    if (this.#pending.size >= this.options.maxPending) {
      this.#counters.refusedBusy++;
      return Promise.reject(new PrometheanError('rate_limited', `${this.#pending.size} embedding queries already pending`));
    }
    const payload = embedPayloads['embed.query'].safeParse({ texts: [...texts], model: this.model });
    if (!payload.success) {
      const issue = payload.error.issues[0]!;
      const path = ['texts', ...issue.path.slice(1).map(String)].join('.');
      return Promise.reject(new PrometheanError('schema', `${path}: ${issue.message}`, { path }));
    }
    this.#counters.queries++;
    return new Promise<Float32Array[]>((resolve, reject) => {
      const env = this.#runtime.publish('embed.query', payload.data, QUERY_SCOPE);
      const timer = setTimeout(() => {
        this.#pending.delete(env.id);
        this.#counters.timeouts++;
        reject(new PrometheanError('timeout', `the embedder did not answer within ${this.options.timeoutMs} ms`));
      }, this.options.timeoutMs);
      this.#pending.set(env.id, { count: texts.length, resolve, reject, timer });
    });
  }

  /** Idempotent; rejects what is pending. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(new InvalidStateError('the bus embedder closed while a query was pending'));
      this.#pending.delete(id);
    }
  }

  #take(corr: string | undefined): Pending | undefined {
    if (corr === undefined) return undefined;
    const p = this.#pending.get(corr);
    if (!p) return undefined;
    this.#pending.delete(corr);
    clearTimeout(p.timer);
    return p;
  }

  #onResult(env: Envelope, attachments: Uint8Array[]): void {
    const p = this.#take(env.corr);
    if (!p) return;
    const r = embedPayloads['embed.query.result'].safeParse(env.payload);
    if (!r.success) return this.#bad(p, `embed.query.result payload.${r.error.issues[0]!.path.join('.')}: ${r.error.issues[0]!.message}`);
    const a = r.data;
    if (a.error) return p.reject(new PrometheanError(a.error.code, `embedder: ${a.error.message}`));
    if (a.model !== this.model || a.dims !== this.dimensions) return this.#bad(p, `the embedder answered with ${a.model} (${a.dims} dims), not ${this.model} (${this.dimensions})`);
    if (a.count !== p.count) return this.#bad(p, `the embedder answered ${a.count} vectors for ${p.count} texts`);
    try {
      const vectors = unpackVectors(attachments[a.attachment!], a.count, a.dims, `attachments.${a.attachment}`);
      this.#counters.answered++;
      p.resolve(vectors);
    } catch (error) {
      this.#bad(p, (error as Error).message);
    }
  }

  #bad(p: Pending, message: string): void {
    this.#counters.badAnswers++;
    this.#runtime.count('embed.query.bad_answers');
    p.reject(new PrometheanError('internal', message));
  }

  /** An `error` envelope about one of our queries (the embedder refused it as malformed). */
  #onError(env: Envelope): void {
    const p = this.#take(env.corr);
    if (!p) return;
    const e = env.payload as { code?: ErrorCode; message?: string };
    p.reject(new PrometheanError(e.code ?? 'internal', `embedder: ${e.message ?? 'error'}`));
  }

  #onHealth(env: Envelope): void {
    const h = env.payload as { agent_id?: string; state?: string };
    if (h.agent_id === undefined || !this.options.embedderIds.includes(h.agent_id) || env.src !== h.agent_id) return;
    // Only an embedder of our model counts: its vectors are the ones stored.
    if (env.models && !env.models.some((m) => m.name === this.model)) return;
    if (!this.#presence.has(h.agent_id) && this.#presence.size >= 64) return;
    this.#presence.set(h.agent_id, { at: this.options.now(), state: h.state ?? 'RUNNING' });
  }
}
