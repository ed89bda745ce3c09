/** The transcript indexer: wiring for the server process (tokenless; a bus and the server's store). */
import { AgentRuntime, type AgentBus } from '@promethean/shared/node';
import type { Store } from '../../store/index.ts';
import { trackSubscriptions } from '../indexer/index.ts';
import { TranscriptIndexer, type TranscriptIndexerOptions } from './worker.ts';

export { TranscriptIndexer, defaultTranscriptIndexerOptions, type TranscriptIndexerOptions, type TranscriptIndexerRuntime } from './worker.ts';

export interface RunningTranscriptIndexer {
  runtime: AgentRuntime;
  worker: TranscriptIndexer;
  /** Settles when the hub acknowledged the subscription (where the bus reports it). */
  ready: Promise<void>;
  /** Idempotent; waits for writes in flight. */
  stop(): Promise<void>;
}

export function startTranscriptIndexer(
  bus: AgentBus,
  store: Store,
  options: Partial<TranscriptIndexerOptions> & { logLevel?: string; buildSha?: string } = {},
): RunningTranscriptIndexer {
  const { logLevel, buildSha, ...workerOptions } = options;
  const acks: Promise<void>[] = [];
  const runtime = new AgentRuntime({
    id: 'transcript-indexer', kind: 'worker', bus: trackSubscriptions(bus, acks),
    ...(logLevel ? { logLevel } : {}), ...(buildSha ? { buildSha } : {}),
  });
  const worker = new TranscriptIndexer(runtime, store, workerOptions);
  worker.start();
  runtime.start();
  let stopping: Promise<void> | undefined;
  return {
    runtime,
    worker,
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
