/** The message embedder worker: wiring (tokenless; a bus, a vector-capable store and the Embedder). */
import type { Embedder } from '@promethean/shared';
import { AgentRuntime, type AgentBus } from '@promethean/shared/node';
import { SemanticSearch, type VectorCapableStore } from '../../embed/semantic-search.ts';
import { trackSubscriptions } from '../indexer/index.ts';
import { EmbedderWorker, type EmbedderWorkerOptions } from './worker.ts';

export { EmbedderWorker, defaultEmbedderWorkerOptions, type EmbedderWorkerOptions, type EmbedderRuntime } from './worker.ts';

export interface RunningEmbedder {
  runtime: AgentRuntime;
  worker: EmbedderWorker;
  search: SemanticSearch;
  /** Settles when the hub acknowledged the subscription. */
  ready: Promise<void>;
  /** Idempotent; embeds what is queued first. */
  stop(): Promise<void>;
}

export function startEmbedder(
  bus: AgentBus,
  store: VectorCapableStore,
  embedder: Embedder,
  options: Partial<EmbedderWorkerOptions> & { logLevel?: string; buildSha?: string } = {},
): RunningEmbedder {
  const { logLevel, buildSha, ...workerOptions } = options;
  const acks: Promise<void>[] = [];
  const runtime = new AgentRuntime({
    id: 'message-embedder', kind: 'worker', bus: trackSubscriptions(bus, acks), models: [{ name: embedder.model, version: '1' }],
    ...(logLevel ? { logLevel } : {}), ...(buildSha ? { buildSha } : {}),
  });
  const search = new SemanticSearch(store, embedder);
  const worker = new EmbedderWorker(runtime, search, workerOptions);
  runtime.start();
  worker.start();
  let stopping: Promise<void> | undefined;
  return {
    runtime,
    worker,
    search,
    ready: Promise.all(acks).then(() => undefined),
    stop() {
      stopping ??= (async () => {
        await worker.stop();
        runtime.stop();
      })();
      return stopping;
    },
  };
}
