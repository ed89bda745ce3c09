/** The message embedder worker: wiring (tokenless; a bus and the Embedder, no store). */
import type { Embedder } from '@promethean/shared';
import type { AgentBus, AgentRuntime } from '@promethean/shared/node';
import { startBusWorker } from '../running.ts';
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
  return startBusWorker(bus, 'message-embedder', (runtime) => new EmbedderWorker(runtime, embedder, workerOptions), { logLevel, buildSha, healthIntervalS }, {
    models: [{ name: embedder.model, version: '1' }],
    queueDepth: (worker) => worker.queued + worker.queries,
    // The server stops offering semantic search at once instead of after the health timeout.
    beforeStop: (runtime) => {
      try {
        runtime.publish('health', { ...runtime.health(), state: 'STOPPED' }, { provider: runtime.options.provider, tenant: runtime.options.tenant });
      } catch {
        // The bus is already gone: the server notices by the missing health.
      }
    },
  });
}
