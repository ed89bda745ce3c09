/**
 * The message embedder: live `events.SocialMessageCreated` from every tenant (wildcard subscription,
 * so a tenant added to providers.yml needs no change here) are queued, embedded in batches and written
 * through `SemanticSearch.index()`, which skips texts already stored with the same content hash (a
 * redelivered or backfilled message costs no model run). The queue is bounded: beyond `maxQueued` the
 * oldest waiting message is dropped and counted.
 */
import { PrometheanError, socialPayloads, type Envelope } from '@promethean/shared';
import type { SemanticItem, SemanticSearch } from '../../embed/semantic-search.ts';
import { fromSocialMessage, parsePayload } from '../indexer/normalize.ts';

/** What the worker needs of the agent runtime (`AgentRuntime` satisfies it). */
export interface EmbedderRuntime {
  subscribe(pattern: string, handler: (envelope: Envelope) => void | Promise<void>): void;
  count(name: string, by?: number): void;
}

export interface EmbedderWorkerOptions {
  /** Messages per model run. */
  batchSize: number;
  /** Longest wait before a partial batch is embedded. */
  flushMs: number;
  /** Messages waiting at most; beyond it the oldest is dropped (`embed.dropped`). */
  maxQueued: number;
}

export const defaultEmbedderWorkerOptions: EmbedderWorkerOptions = { batchSize: 32, flushMs: 200, maxQueued: 10_000 };

interface Queued {
  provider: string;
  tenant: string;
  item: SemanticItem;
}

export class EmbedderWorker {
  readonly options: EmbedderWorkerOptions;
  readonly #runtime: EmbedderRuntime;
  readonly #search: SemanticSearch;
  readonly #queue: Queued[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(runtime: EmbedderRuntime, search: SemanticSearch, options: Partial<EmbedderWorkerOptions> = {}) {
    this.options = { ...defaultEmbedderWorkerOptions, ...options };
    this.#runtime = runtime;
    this.#search = search;
  }

  start(): void {
    this.#runtime.subscribe('promethean.p.*.t.*.events.SocialMessageCreated', (env) => this.onMessageCreated(env));
  }

  /** Messages waiting to be embedded. */
  get queued(): number {
    return this.#queue.length;
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
    const batch = this.#queue.splice(0, this.options.batchSize);
    const byTenant = new Map<string, Queued[]>();
    for (const q of batch) {
      const k = `${q.provider}\u0000${q.tenant}`;
      byTenant.set(k, [...(byTenant.get(k) ?? []), q]);
    }
    for (const list of byTenant.values()) {
      try {
        const r = await this.#search.index({ provider: list[0]!.provider, tenant: list[0]!.tenant }, list.map((q) => q.item));
        this.#runtime.count('embed.embedded', r.embedded);
        this.#runtime.count('embed.unchanged', r.unchanged);
      } catch {
        this.#runtime.count('embed.failed', list.length);
      }
    }
  }
}
