/**
 * `SemanticSearch`: the semantic half of `GET /api/search`. It keeps one vector per text in
 * `text_embeddings` (migration 006; pgvector), per tenant namespace `(provider, tenant)` and source
 * kind (`message`, `transcript`, …), and answers nearest-neighbour queries confined to a tenant and,
 * optionally, to guilds (`space_ids`) and channels.
 *
 * Indexing is idempotent by content hash (sha-256 of the model id and the text): a text already stored
 * with the same hash is neither embedded nor written again; a changed text replaces its vector.
 *
 *   const search = new SemanticSearch(store, embedder);
 *   await search.index({ provider: 'discord', tenant: 'acme' }, [{ kind: 'message', foreign_id, space_id, channel_id, text }]);
 *   const hits = await search.search({ provider: 'discord', tenant: 'acme', text: 'who lost their bike', k: 10, space_ids: ['g1'] });
 *   // hits: [{ kind, foreign_id, space_id, channel_id, distance, similarity }] nearest first; the caller joins its rows.
 *
 * Vectors made elsewhere (the embedder process publishes them as `embed.vectors`) are stored with
 * `write()`, under the same content-hash rule; the server's `VectorWriter` does that.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ID_TOKEN_RE, UnsupportedError } from '@promethean/shared';
import type { Embedder } from '@promethean/shared';
import { StoreInputError } from '../store/errors.ts';
import type { SqlClient } from '../store/sql.ts';
import { vectorLiteral } from '../store/sql.ts';
import type { StoreCapabilities, TenantScope } from '../store/store.ts';

const NoNul = z.string().refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');
const Id = NoNul.pipe(z.string().min(1).max(128));
const Token = z.string().regex(ID_TOKEN_RE, 'must match [a-z0-9_-]+').max(64);
const Kind = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'must match [a-z][a-z0-9_-]*');
const Scope = z.object({ provider: Token, tenant: Token });

export interface SemanticSearchOptions {
  /** Texts per `index()` call. */
  maxItems: number;
  /** Characters of a text or query (the model reads only its first 256 tokens). */
  maxChars: number;
  /** Largest `k`. */
  maxK: number;
  /** Guild or channel ids one query may name. */
  maxFilterIds: number;
}

export const defaultSemanticSearchOptions: SemanticSearchOptions = { maxItems: 1024, maxChars: 20_000, maxK: 100, maxFilterIds: 1000 };

/** One text to index. */
export interface SemanticItem {
  /** What `foreign_id` names: `message`, `transcript`, … */
  kind: string;
  foreign_id: string;
  /** Guild (workspace) and channel, for scoped searches. */
  space_id?: string | null;
  channel_id?: string | null;
  text: string;
}

/** One vector made elsewhere, to store as it is. */
export interface SemanticVectorItem {
  kind: string;
  foreign_id: string;
  space_id?: string | null;
  channel_id?: string | null;
  /** {@link contentHash} of the model id and the text the vector was made from. */
  content_hash: string;
  vector: Float32Array;
}

export interface SemanticWriteResult {
  /** Vectors written (new or changed). */
  written: number;
  /** Vectors whose stored row already had this content hash (nothing written). */
  unchanged: number;
}

export interface SemanticIndexResult {
  /** Texts embedded and written (new or changed). */
  embedded: number;
  /** Texts whose stored vector already had this content hash. */
  unchanged: number;
}

export interface SemanticQuery extends TenantScope {
  /** The query text, embedded with the same model. */
  text: string;
  /** Hits wanted (default 10). */
  k?: number;
  /** Only these kinds (default all). */
  kinds?: readonly string[];
  /** Only these guilds (default all the tenant's). */
  space_ids?: readonly string[];
  /** Only these channels (default all). */
  channel_ids?: readonly string[];
}

export interface SemanticHit {
  kind: string;
  foreign_id: string;
  space_id: string | null;
  channel_id: string | null;
  /** Cosine distance (0 = same direction). */
  distance: number;
  /** 1 − distance: the cosine similarity. */
  similarity: number;
}

export interface SemanticSearchCounters {
  embedded: number;
  /** Vectors stored through `write()`. */
  written: number;
  unchanged: number;
  searches: number;
  rejectedInputs: number;
}

/** sha-256 (hex) of the model id and the text: equal hashes mean an equal vector. */
export function contentHash(model: string, text: string): string {
  return createHash('sha256').update(model).update('\u0000').update(text).digest('hex');
}

/** What the helper needs of a store: its SQL client and whether pgvector is there (`SqlStore` has both). */
export interface VectorCapableStore {
  readonly sql: SqlClient;
  readonly capabilities: StoreCapabilities;
}

const UPSERT = `
INSERT INTO text_embeddings (provider, tenant, kind, foreign_id, space_id, channel_id, content_hash, model, embedding)
SELECT $1, $2, u.kind, u.foreign_id, u.space_id, u.channel_id, u.content_hash, $3, u.embedding::vector
FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) AS u(kind, foreign_id, space_id, channel_id, content_hash, embedding)
ON CONFLICT (provider, tenant, kind, foreign_id) DO UPDATE SET space_id = EXCLUDED.space_id, channel_id = EXCLUDED.channel_id,
  content_hash = EXCLUDED.content_hash, model = EXCLUDED.model, embedding = EXCLUDED.embedding, updated_at = now()`;

const EXISTING = `
SELECT kind, foreign_id, content_hash, model FROM text_embeddings
WHERE provider = $1 AND tenant = $2 AND (kind, foreign_id) IN (SELECT * FROM unnest($3::text[], $4::text[]))`;

const SEARCH = `
SELECT kind, foreign_id, space_id, channel_id, (embedding <=> $3::vector)::float8 AS distance
FROM text_embeddings
WHERE provider = $1 AND tenant = $2 AND model = $4
  AND ($5::text[] IS NULL OR kind = ANY($5::text[]))
  AND ($6::text[] IS NULL OR space_id = ANY($6::text[]))
  AND ($7::text[] IS NULL OR channel_id = ANY($7::text[]))
ORDER BY embedding <=> $3::vector LIMIT $8`;

const REMOVE = 'DELETE FROM text_embeddings WHERE provider = $1 AND tenant = $2 AND kind = $3 AND foreign_id = ANY($4::text[])';

export class SemanticSearch {
  readonly embedder: Embedder;
  readonly #sql: SqlClient;
  readonly #options: SemanticSearchOptions;
  readonly #counters: SemanticSearchCounters = { embedded: 0, written: 0, unchanged: 0, searches: 0, rejectedInputs: 0 };
  #iterativeScan: boolean | undefined;

  /** Throws UnsupportedError when the store has no pgvector (Debian's PostgreSQL 15). */
  constructor(store: VectorCapableStore, embedder: Embedder, options: Partial<SemanticSearchOptions> = {}) {
    if (!store.capabilities.vector) throw new UnsupportedError('semantic search needs pgvector, which this database does not offer');
    this.#sql = store.sql;
    this.embedder = embedder;
    this.#options = { ...defaultSemanticSearchOptions, ...options };
  }

  get counters(): Readonly<SemanticSearchCounters> {
    return { ...this.#counters };
  }

  /** Embeds and stores what is new or changed; idempotent by content hash. */
  async index(scope: TenantScope, items: readonly SemanticItem[]): Promise<SemanticIndexResult> {
    const s = this.#parse(Scope, scope, 'scope');
    const list = this.#parse(this.#itemsSchema(), items, 'items');
    // A key repeated in one call counts once, with its last text (as the store's upserts do).
    const byKey = new Map<string, (typeof list)[number] & { hash: string }>();
    for (const it of list) byKey.set(`${it.kind}\u0000${it.foreign_id}`, { ...it, hash: contentHash(this.embedder.model, it.text) });
    const all = [...byKey.values()];
    if (all.length === 0) return { embedded: 0, unchanged: 0 };
    const todo = await this.#changed(s, this.embedder.model, all);
    const unchanged = all.length - todo.length;
    if (todo.length > 0) {
      const vectors = await this.embedder.embed(todo.map((x) => x.text));
      await this.#upsert(s, this.embedder.model, todo, vectors);
    }
    this.#counters.embedded += todo.length;
    this.#counters.unchanged += unchanged;
    return { embedded: todo.length, unchanged };
  }

  /**
   * Stores vectors made elsewhere by `model` (which must be this search's model, with its
   * dimensions); idempotent by content hash like `index()`. A key repeated in one call counts once,
   * with its last vector.
   */
  async write(scope: TenantScope, model: string, items: readonly SemanticVectorItem[]): Promise<SemanticWriteResult> {
    const s = this.#parse(Scope, scope, 'scope');
    if (model !== this.embedder.model) {
      this.#counters.rejectedInputs++;
      throw new StoreInputError(`model: vectors of ${model} cannot be stored beside ${this.embedder.model}'s`, { path: 'model' });
    }
    const dims = this.embedder.dimensions;
    const Nullable = Id.nullable().optional();
    const list = this.#parse(
      z
        .array(
          z.object({
            kind: Kind, foreign_id: Id, space_id: Nullable, channel_id: Nullable,
            content_hash: z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex sha256'),
            vector: z.instanceof(Float32Array).refine((v) => v.length === dims, `must have ${dims} values`).refine((v) => v.every(Number.isFinite), 'must be finite'),
          }),
        )
        .max(this.#options.maxItems),
      items,
      'items',
    );
    const byKey = new Map<string, (typeof list)[number] & { hash: string }>();
    for (const it of list) byKey.set(`${it.kind}\u0000${it.foreign_id}`, { ...it, hash: it.content_hash });
    const all = [...byKey.values()];
    if (all.length === 0) return { written: 0, unchanged: 0 };
    const todo = await this.#changed(s, model, all);
    if (todo.length > 0) await this.#upsert(s, model, todo, todo.map((x) => x.vector));
    this.#counters.written += todo.length;
    this.#counters.unchanged += all.length - todo.length;
    return { written: todo.length, unchanged: all.length - todo.length };
  }

  /** The items whose stored row is missing or has another content hash or model. */
  async #changed<T extends { kind: string; foreign_id: string; hash: string }>(s: TenantScope, model: string, all: T[]): Promise<T[]> {
    const existing = await this.#sql.query<{ kind: string; foreign_id: string; content_hash: string; model: string }>(EXISTING, [
      s.provider, s.tenant, all.map((x) => x.kind), all.map((x) => x.foreign_id),
    ]);
    const stored = new Map(existing.rows.map((r) => [`${r.kind}\u0000${r.foreign_id}`, r]));
    return all.filter((x) => {
      const r = stored.get(`${x.kind}\u0000${x.foreign_id}`);
      return !(r && r.content_hash === x.hash && r.model === model);
    });
  }

  async #upsert(
    s: TenantScope,
    model: string,
    todo: readonly { kind: string; foreign_id: string; space_id?: string | null | undefined; channel_id?: string | null | undefined; hash: string }[],
    vectors: readonly Float32Array[],
  ): Promise<void> {
    await this.#sql.query(UPSERT, [
      s.provider, s.tenant, model,
      todo.map((x) => x.kind), todo.map((x) => x.foreign_id), todo.map((x) => x.space_id ?? null), todo.map((x) => x.channel_id ?? null),
      todo.map((x) => x.hash), vectors.map((v) => vectorLiteral(v)),
    ]);
  }

  /** The `k` stored texts nearest to the query, nearest first, within the tenant and the given filters. */
  async search(query: SemanticQuery): Promise<SemanticHit[]> {
    const o = this.#options;
    const Ids = z.array(Id).max(o.maxFilterIds);
    const q = this.#parse(
      Scope.extend({
        text: NoNul.pipe(z.string().min(1).max(o.maxChars)),
        k: z.number().int().min(1).max(o.maxK).default(10),
        kinds: z.array(Kind).max(32).optional(),
        space_ids: Ids.optional(),
        channel_ids: Ids.optional(),
      }),
      query,
      'query',
    );
    const [vector] = await this.embedder.embed([q.text]);
    if (this.#iterativeScan === undefined) {
      const v = await this.#sql.query<{ extversion: string }>("SELECT extversion FROM pg_extension WHERE extname = 'vector'");
      const [major = 0, minor = 0] = (v.rows[0]?.extversion ?? '0').split('.').map(Number);
      this.#iterativeScan = major > 0 || minor >= 8;
    }
    const iterative = this.#iterativeScan;
    this.#counters.searches++;
    return this.#sql.transaction(async (tx) => {
      // Filters after an approximate index scan could leave fewer than k rows; pgvector ≥ 0.8 keeps
      // scanning until k rows pass them.
      if (iterative) await tx.exec('SET LOCAL hnsw.iterative_scan = strict_order');
      const r = await tx.query<{ kind: string; foreign_id: string; space_id: string | null; channel_id: string | null; distance: number }>(SEARCH, [
        q.provider, q.tenant, vectorLiteral(vector!), this.embedder.model, q.kinds ?? null, q.space_ids ?? null, q.channel_ids ?? null, q.k,
      ]);
      return r.rows.map((row) => {
        const distance = Number(row.distance);
        return { kind: row.kind, foreign_id: row.foreign_id, space_id: row.space_id, channel_id: row.channel_id, distance, similarity: 1 - distance };
      });
    });
  }

  /** Drops the vectors of deleted texts; returns how many there were. */
  async remove(scope: TenantScope, kind: string, foreignIds: readonly string[]): Promise<number> {
    const s = this.#parse(Scope, scope, 'scope');
    const k = this.#parse(Kind, kind, 'kind');
    const ids = this.#parse(z.array(Id).max(this.#options.maxItems), foreignIds, 'foreignIds');
    const r = await this.#sql.query(REMOVE, [s.provider, s.tenant, k, ids]);
    return r.rowCount;
  }

  #itemsSchema() {
    const Nullable = Id.nullable().optional();
    return z
      .array(z.object({ kind: Kind, foreign_id: Id, space_id: Nullable, channel_id: Nullable, text: NoNul.pipe(z.string().max(this.#options.maxChars)) }))
      .max(this.#options.maxItems);
  }

  #parse<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
    const r = schema.safeParse(value);
    if (r.success) return r.data;
    this.#counters.rejectedInputs++;
    const issue = r.error.issues[0]!;
    const path = [what, ...issue.path.map(String)].join('.');
    throw new StoreInputError(`${path}: ${issue.message}`, { path });
  }
}
