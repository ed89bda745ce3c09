/**
 * The server's vector writer: stores the `embed.vectors` the embedder process publishes (any tenant: a
 * wildcard subscription) through `SemanticSearch.write()`, idempotent by content hash. It runs in the
 * server process because the server owns the store (PGlite is single-process); it does no model run.
 *
 * Batches are checked where they enter (schema, model, dimensions, attachment size, finite values; a
 * bad one becomes an `error` envelope to its sender and `rejected.embed.vectors`), then queued and
 * written one at a time. The queue is bounded by vectors: beyond `maxQueuedVectors` the oldest batch
 * is dropped and counted (`vectors.dropped`).
 */
import { embedPayloads, PrometheanError, type Envelope } from '@promethean/shared';
import type { SemanticSearch, SemanticVectorItem } from './semantic-search.ts';
import { unpackVectors } from './wire.ts';

/** What the writer needs of the agent runtime (`AgentRuntime` satisfies it). */
export interface VectorWriterRuntime {
  subscribe(pattern: string, handler: (envelope: Envelope, attachments: Uint8Array[]) => void | Promise<void>): void;
  count(name: string, by?: number): void;
}

export interface VectorWriterOptions {
  /** Vectors waiting to be written at most (a 384-d vector is 1.5 KiB). */
  maxQueuedVectors: number;
}

export const defaultVectorWriterOptions: VectorWriterOptions = { maxQueuedVectors: 20_000 };

interface Batch {
  provider: string;
  tenant: string;
  model: string;
  items: SemanticVectorItem[];
}

export class VectorWriter {
  readonly options: VectorWriterOptions;
  readonly #runtime: VectorWriterRuntime;
  readonly #search: SemanticSearch;
  readonly #queue: Batch[] = [];
  #queuedVectors = 0;
  #running: Promise<void> | undefined;

  constructor(runtime: VectorWriterRuntime, search: SemanticSearch, options: Partial<VectorWriterOptions> = {}) {
    this.options = { ...defaultVectorWriterOptions, ...options };
    this.#runtime = runtime;
    this.#search = search;
  }

  start(): void {
    this.#runtime.subscribe('promethean.p.*.t.*.embed.vectors', (env, attachments) => this.onVectors(env, attachments));
  }

  /** Vectors waiting to be written. */
  get queued(): number {
    return this.#queuedVectors;
  }

  /** Checks and queues one batch; throws a typed error (counted) for a bad one. */
  onVectors(env: Envelope, attachments: readonly Uint8Array[]): void {
    let batch: Batch;
    try {
      batch = this.#check(env, attachments);
    } catch (error) {
      this.#runtime.count('rejected.embed.vectors');
      throw error;
    }
    this.#queue.push(batch);
    this.#queuedVectors += batch.items.length;
    while (this.#queuedVectors > this.options.maxQueuedVectors && this.#queue.length > 1) {
      const dropped = this.#queue.shift()!;
      this.#queuedVectors -= dropped.items.length;
      this.#runtime.count('vectors.dropped', dropped.items.length);
    }
    this.#kick();
  }

  /** Resolves when everything queued is written. */
  async drain(): Promise<void> {
    while (this.#running) await this.#running;
  }

  #check(env: Envelope, attachments: readonly Uint8Array[]): Batch {
    const r = embedPayloads['embed.vectors'].safeParse(env.payload);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      const path = ['payload', ...issue.path.map(String)].join('.');
      throw new PrometheanError('schema', `embed.vectors ${path}: ${issue.message}`, { path });
    }
    const p = r.data;
    const { model, dimensions } = this.#search.embedder;
    if (p.model !== model) throw new PrometheanError('unsupported', `embed.vectors payload.model: ${p.model}; this server stores ${model} vectors only`, { path: 'payload.model' });
    if (p.dims !== dimensions) throw new PrometheanError('schema', `embed.vectors payload.dims: ${p.dims}; ${model} has ${dimensions}`, { path: 'payload.dims' });
    const vectors = unpackVectors(attachments[p.attachment], p.items.length, p.dims, `attachments.${p.attachment}`);
    return {
      provider: env.provider,
      tenant: env.tenant,
      model: p.model,
      items: p.items.map((it, i) => ({
        kind: it.kind, foreign_id: it.source_id, space_id: it.space_id, channel_id: it.channel_id, content_hash: it.content_sha256, vector: vectors[i]!,
      })),
    };
  }

  #kick(): void {
    this.#running ??= this.#loop().finally(() => {
      this.#running = undefined;
      if (this.#queue.length > 0) this.#kick();
    });
  }

  async #loop(): Promise<void> {
    for (let batch = this.#queue.shift(); batch; batch = this.#queue.shift()) {
      this.#queuedVectors -= batch.items.length;
      try {
        const r = await this.#search.write({ provider: batch.provider, tenant: batch.tenant }, batch.model, batch.items);
        this.#runtime.count('vectors.written', r.written);
        this.#runtime.count('vectors.unchanged', r.unchanged);
      } catch {
        // The store refused or failed (e.g. the database is gone); the batch is lost, and counted.
        this.#runtime.count('vectors.failed', batch.items.length);
      }
    }
  }
}
