/** The transcript indexer: wiring for the server process (tokenless; a bus and the server's store). */
import type { AgentBus, AgentRuntime } from '@promethean/shared/node';
import type { Store } from '../../store/index.ts';
import { startBusWorker } from '../running.ts';
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
  return startBusWorker(bus, 'transcript-indexer', (runtime) => new TranscriptIndexer(runtime, store, workerOptions), { logLevel, buildSha });
}
