/**
 * The message embedder: a model service on the bus. It holds the model and no store.
 *
 * - Live `events.SocialMessageCreated` from every tenant (a wildcard subscription, so a tenant added to
 *   providers.yml needs no change here) are queued, embedded in batches (one model run per batch,
 *   across tenants) and published as `embed.vectors`, one envelope per tenant, the vectors as one
 *   float32 attachment. The server's vector writer stores them, idempotent by content hash.
 * - `embed.query` (a search's query text) is answered with `embed.query.result`, paired by `corr`.
 *   Queries do not wait behind the message queue: each is one model call of its own, which the
 *   embedder runs after the batch in progress.
 *
 * Both queues are bounded: beyond `maxQueued` the oldest waiting message is dropped (`embed.dropped`);
 * beyond `maxQueries` unanswered queries a new one is answered `rate_limited`.
 */
import { embedPayloads, PrometheanError, socialPayloads, type Embedder, type Envelope, type ErrorCode, type KnownIntent, type PayloadOf } from '@promethean/shared';
import { contentHash, type SemanticItem } from '../../embed/semantic-search.ts';
import { packVectors } from '../../embed/wire.ts';
import { fromSocialMessage, parsePayload } from '../indexer/normalize.ts';

/** What the worker needs of the agent runtime (`AgentRuntime` satisfies it). */
export interface EmbedderRuntime {
  subscribe(pattern: string, handler: (envelope: Envelope, attachments: Uint8Array[]) => void | Promise<void>): void;
  count(name: string, by?: number): void;
  publish<I extends string>(
    intent: I,
    payload: I extends KnownIntent ? PayloadOf<I> : unknown,
    options: { provider: string; tenant: string; corr?: string; attachments?: readonly Uint8Array[] },
  ): Envelope;
}

export interface EmbedderWorkerOptions {
  /** Messages per model run. */
  batchSize: number;
  /** Longest wait before a partial batch is embedded. */
  flushMs: number;
  /** Messages waiting at most; beyond it the oldest is dropped (`embed.dropped`). */
  maxQueued: number;
  /** Queries accepted and not yet answered at most; more are answered `rate_limited`. */
  maxQueries: number;
}

export const defaultEmbedderWorkerOptions: EmbedderWorkerOptions = { batchSize: 32, flushMs: 200, maxQueued: 10_000, maxQueries: 32 };

interface Queued {
  provider: string;
  tenant: string;
  item: SemanticItem;
}

export class EmbedderWorker {
  readonly options: EmbedderWorkerOptions;
  readonly #runtime: EmbedderRuntime;
  readonly #embedder: Embedder;
  readonly #queue: Queued[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #queries = 0;
  #stopped = false;

  constructor(runtime: EmbedderRuntime, embedder: Embedder, options: Partial<EmbedderWorkerOptions> = {}) {
    this.options = { ...defaultEmbedderWorkerOptions, ...options };
    if (this.options.batchSize < 1 || this.options.batchSize > 256) throw new PrometheanError('bad_config', 'batchSize must be 1…256 (one embed.vectors envelope)', { path: 'batchSize' });
    this.#runtime = runtime;
    this.#embedder = embedder;
  }

  start(): void {
    this.#runtime.subscribe('promethean.p.*.t.*.events.SocialMessageCreated', (env) => this.onMessageCreated(env));
    this.#runtime.subscribe('promethean.p.*.t.*.embed.query', (env) => this.onQuery(env));
  }

  /** Messages waiting to be embedded. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Queries being answered. */
  get queries(): number {
    return this.#queries;
  }

  onMessageCreated(env: Envelope): void {
    let item: SemanticItem;
    let scope: { provider: string; tenant: string };
    try {
      const p = parsePayload(socialPayloads['events.SocialMessageCreated'], env.payload, env.intent);
      if (p.provider !== env.provider || p.tenant !== env.tenant) throw new PrometheanError('schema', `payload.tenant: ${p.provider}/${p.tenant} differs from the envelope's ${env.provider}/${env.tenant}`, { path: 'payload.tenant' });
      const row = fromSocialMessage(p);
      scope = { provider: row.provider, tenant: row.tenant };
      item = { kind: 'message', foreign_id: row.foreign_id, space_id: row.space_id, channel_id: row.channel_id, text: row.content };
    } catch (err) {
      this.#runtime.count('rejected.events.SocialMessageCreated');
      throw err;
    }
    if (item.text.trim() === '') {
      this.#runtime.count('embed.skipped_empty');
      return;
    }
    if (this.#queue.length >= this.options.maxQueued) {
      this.#queue.shift();
      this.#runtime.count('embed.dropped');
    }
    this.#queue.push({ ...scope, item });
    this.#schedule();
  }

  /** Answers one `embed.query`; a malformed one throws (the runtime sends the asker an `error` envelope). */
  async onQuery(env: Envelope): Promise<void> {
    let texts: string[];
    let model: string | undefined;
    try {
      ({ texts, model } = parsePayload(embedPayloads['embed.query'], env.payload, env.intent));
    } catch (err) {
      this.#runtime.count('rejected.embed.query');
      throw err;
    }
    const e = this.#embedder;
    const answer = (payload: PayloadOf<'embed.query.result'>, attachments?: Uint8Array[]) =>
      this.#runtime.publish('embed.query.result', payload, { provider: env.provider, tenant: env.tenant, corr: env.corr ?? env.id, ...(attachments ? { attachments } : {}) });
    const refuse = (code: ErrorCode, message: string) => answer({ model: e.model, dims: e.dimensions, count: 0, encoding: 'f32le', error: { code, message } });
    if (model !== undefined && model !== e.model) {
      this.#runtime.count('embed.query.refused_model');
      refuse('unsupported', `this embedder runs ${e.model}, not ${model}`);
      return;
    }
    if (this.#queries >= this.options.maxQueries) {
      this.#runtime.count('embed.query.refused_busy');
      refuse('rate_limited', `${this.#queries} queries are being answered`);
      return;
    }
    this.#queries++;
    try {
      const vectors = await e.embed(texts);
      answer({ model: e.model, dims: e.dimensions, count: vectors.length, encoding: 'f32le', attachment: 0 }, [packVectors(vectors, e.dimensions)]);
      this.#runtime.count('embed.query.answered');
    } catch (error) {
      this.#runtime.count('embed.query.failed');
      const code = error instanceof PrometheanError ? error.code : 'internal';
      refuse(code, (error as Error).message.slice(0, 2000));
    } finally {
      this.#queries--;
    }
  }

  /** Embeds everything queued now; resolves when the queue is empty. */
  async drain(): Promise<void> {
    while (this.#queue.length > 0 || this.#running) {
      if (!this.#running) this.#kick();
      await this.#running;
    }
  }

  /** Stops taking timers; embeds what is queued. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.drain();
  }

  #schedule(): void {
    if (this.#running || this.#stopped) return;
    if (this.#queue.length >= this.options.batchSize) {
      this.#kick();
      return;
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#kick();
    }, this.options.flushMs);
  }

  #kick(): void {
    if (this.#running) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#running = this.#flush().finally(() => {
      this.#running = undefined;
      if (this.#queue.length > 0) this.#schedule();
    });
  }

  async #flush(): Promise<void> {
    // A message repeated within one batch (a redelivery) is embedded once, with its last text.
    const byKey = new Map<string, Queued>();
    for (const q of this.#queue.splice(0, this.options.batchSize)) {
      const key = `${q.provider}\u0000${q.tenant}\u0000${q.item.kind}\u0000${q.item.foreign_id}`;
      byKey.delete(key);
      byKey.set(key, q);
    }
    const batch = [...byKey.values()];
    if (batch.length === 0) return;
    const e = this.#embedder;
    let vectors: Float32Array[];
    try {
      vectors = await e.embed(batch.map((q) => q.item.text));
    } catch {
      this.#runtime.count('embed.failed', batch.length);
      return;
    }
    this.#runtime.count('embed.embedded', batch.length);
    const byTenant = new Map<string, number[]>();
    batch.forEach((q, i) => {
      const k = `${q.provider}\u0000${q.tenant}`;
      byTenant.set(k, [...(byTenant.get(k) ?? []), i]);
    });
    for (const rows of byTenant.values()) {
      const first = batch[rows[0]!]!;
      const items = rows.map((i) => {
        const it = batch[i]!.item;
        return { kind: it.kind, source_id: it.foreign_id, space_id: it.space_id ?? null, channel_id: it.channel_id ?? null, content_sha256: contentHash(e.model, it.text) };
      });
      try {
        this.#runtime.publish('embed.vectors', { model: e.model, dims: e.dimensions, encoding: 'f32le', items, attachment: 0 }, {
          provider: first.provider, tenant: first.tenant, attachments: [packVectors(rows.map((i) => vectors[i]!), e.dimensions)],
        });
        this.#runtime.count('embed.published', items.length);
      } catch {
        // Only a stopped runtime or a closed bus throws here; the vectors are lost and counted.
        this.#runtime.count('embed.publish_failed', items.length);
      }
    }
  }
}
