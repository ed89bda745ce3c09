/** The message embedder worker: wiring (tokenless; a bus and the Embedder, no store). */
import type { Embedder } from '@promethean/shared';
import { AgentRuntime, type AgentBus } from '@promethean/shared/node';
import { trackSubscriptions } from '../indexer/index.ts';
import { EmbedderWorker, type EmbedderWorkerOptions } from './worker.ts';

export { EmbedderWorker, defaultEmbedderWorkerOptions, type EmbedderWorkerOptions, type EmbedderRuntime } from './worker.ts';

export interface RunningEmbedder {
  runtime: AgentRuntime;
  worker: EmbedderWorker;
  /** Settles when the hub acknowledged the subscriptions. */
  ready: Promise<void>;
  /** Idempotent; embeds and publishes what is queued first, then says STOPPED in a last health envelope. */
  stop(): Promise<void>;
}

export function startEmbedder(
  bus: AgentBus,
  embedder: Embedder,
  options: Partial<EmbedderWorkerOptions> & { logLevel?: string; buildSha?: string; healthIntervalS?: number } = {},
): RunningEmbedder {
  const { logLevel, buildSha, healthIntervalS, ...workerOptions } = options;
  const acks: Promise<void>[] = [];
  // queueDepth is first read by runtime.start(), after the worker exists.
  const runtime: AgentRuntime = new AgentRuntime({
    id: 'message-embedder', kind: 'worker', bus: trackSubscriptions(bus, acks), models: [{ name: embedder.model, version: '1' }],
    queueDepth: () => worker.queued + worker.queries,
    ...(logLevel ? { logLevel } : {}), ...(buildSha ? { buildSha } : {}), ...(healthIntervalS ? { healthIntervalS } : {}),
  });
  const worker = new EmbedderWorker(runtime, embedder, workerOptions);
  runtime.start();
  worker.start();
  let stopping: Promise<void> | undefined;
  return {
    runtime,
    worker,
    ready: Promise.all(acks).then(() => undefined),
    stop() {
      stopping ??= (async () => {
        await worker.stop();
        // The server stops offering semantic search at once instead of after the health timeout.
        try {
          runtime.publish('health', { ...runtime.health(), state: 'STOPPED' }, { provider: runtime.options.provider, tenant: runtime.options.tenant });
        } catch {
          // The bus is already gone: the server notices by the missing health.
        }
        runtime.stop();
      })();
      return stopping;
    },
  };
}
