/**
 * The server's half of semantic search, wired on the server's own bus client and store (no model in
 * this process): the {@link VectorWriter} stores what the embedder process publishes, and a
 * {@link SemanticSearch} whose embedder is the {@link BusEmbedder} answers `GET /api/search`'s
 * semantic side (query vector from the embedder process, nearest rows from pgvector).
 *
 *   const embed = startEmbedService(agentBusFrom(bus), store);
 *   await embed.ready;
 *   mountSearchRoutes(app, ctx, { store, semantic: () => embed.semantic });
 *
 * Without pgvector (Debian's PostgreSQL 15) there is nothing to store into: `semantic` is undefined
 * and the route answers `unsupported`.
 */
import { AgentRuntime, type AgentBus } from '@promethean/shared/node';
import type { SemanticSearcher } from '../search/routes.ts';
import type { SqlClient } from '../store/sql.ts';
import type { StoreCapabilities } from '../store/store.ts';
import { trackSubscriptions } from '../workers/indexer/index.ts';
import { BusEmbedder, type BusEmbedderOptions } from './bus-embedder.ts';
import { SemanticSearch } from './semantic-search.ts';
import { VectorWriter, type VectorWriterOptions } from './vector-writer.ts';

export interface EmbedServiceOptions {
  /** Agent id of this part of the server (health, `src` of its queries). */
  id: string;
  embedder: Partial<BusEmbedderOptions>;
  writer: Partial<VectorWriterOptions>;
  logLevel: string | undefined;
  buildSha: string | undefined;
}

export const defaultEmbedServiceOptions: EmbedServiceOptions = { id: 'semantic-index', embedder: {}, writer: {}, logLevel: undefined, buildSha: undefined };

/** The searcher the route uses, with whether an embedder is connected right now. */
export type BusSemanticSearcher = SemanticSearcher & { readonly available: boolean };

export interface RunningEmbedService {
  runtime: AgentRuntime;
  embedder: BusEmbedder;
  /** Absent without pgvector. */
  search: SemanticSearch | undefined;
  writer: VectorWriter | undefined;
  /** For `mountSearchRoutes`; absent without pgvector. */
  semantic: BusSemanticSearcher | undefined;
  /** Settles when the hub acknowledged every subscription. */
  ready: Promise<void>;
  /** Idempotent; writes what is queued first. */
  stop(): Promise<void>;
}

/** The store as the service needs it (`SqlStore` fits; a store without `sql` counts as no pgvector). */
export interface EmbedServiceStore {
  readonly capabilities: StoreCapabilities;
  readonly sql?: SqlClient;
}

export function startEmbedService(bus: AgentBus, store: EmbedServiceStore, options: Partial<EmbedServiceOptions> = {}): RunningEmbedService {
  const o: EmbedServiceOptions = { ...defaultEmbedServiceOptions, ...options };
  const acks: Promise<void>[] = [];
  // queueDepth is first read by runtime.start(), after the writer and the embedder exist.
  const runtime = new AgentRuntime({
    id: o.id, kind: 'worker', bus: trackSubscriptions(bus, acks),
    queueDepth: () => (writer?.queued ?? 0) + embedder.pending,
    ...(o.logLevel ? { logLevel: o.logLevel } : {}), ...(o.buildSha ? { buildSha: o.buildSha } : {}),
  });
  const embedder = new BusEmbedder(runtime, o.embedder);
  const search = store.capabilities.vector && store.sql ? new SemanticSearch({ sql: store.sql, capabilities: store.capabilities }, embedder) : undefined;
  const writer = search ? new VectorWriter(runtime, search, o.writer) : undefined;
  runtime.start();
  embedder.start();
  writer?.start();
  const semantic: BusSemanticSearcher | undefined = search
    ? {
        get available() {
          return embedder.available;
        },
        search: (query) => search.search(query),
      }
    : undefined;
  let stopping: Promise<void> | undefined;
  return {
    runtime,
    embedder,
    search,
    writer,
    semantic,
    ready: Promise.all(acks).then(() => undefined),
    stop() {
      stopping ??= (async () => {
        await writer?.drain();
        await embedder.close();
        runtime.stop();
      })();
      return stopping;
    },
  };
}
