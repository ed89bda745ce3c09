/** The message indexer worker: wiring for `promethean start` (tokenless; a bus and a store). */
import { AgentRuntime, type AgentBus } from '@promethean/shared/node';
import { trackSubscriptions } from '../running.ts';
import type { Store } from '../../store/index.ts';
import { IndexerWorker, type IndexerWorkerOptions } from './worker.ts';

export { IndexerWorker, defaultIndexerWorkerOptions, type IndexerWorkerOptions, type IndexerRuntime } from './worker.ts';
export { BackfillRunner, BackfillFailure, defaultBackfillOptions, type BackfillOptions } from './backfill.ts';
export { BusRestClient, defaultBusRestClientOptions, type BusRestClientOptions } from './rest-client.ts';
export { fromProviderMessage, fromSocialMessage, NO_GUILD } from './normalize.ts';
export { parseRetention } from './retention.ts';

export interface RunningIndexer {
  runtime: AgentRuntime;
  worker: IndexerWorker;
  /** Settles when the hub acknowledged every subscription (where the bus reports it). */
  ready: Promise<void>;
  /** Idempotent; waits for running pages to end (their cursors are saved). */
  stop(): Promise<void>;
}

export { trackSubscriptions } from '../running.ts';

export async function startIndexer(
  bus: AgentBus,
  store: Store,
  options: Partial<IndexerWorkerOptions> & { id?: string; logLevel?: string; buildSha?: string } = {},
): Promise<RunningIndexer> {
  const { id, logLevel, buildSha, ...workerOptions } = options;
  const acks: Promise<void>[] = [];
  const runtime = new AgentRuntime({
    id: id ?? 'message-indexer', kind: 'worker', bus: trackSubscriptions(bus, acks),
    ...(logLevel ? { logLevel } : {}), ...(buildSha ? { buildSha } : {}),
  });
  const worker = new IndexerWorker(runtime, store, workerOptions);
  runtime.start();
  await worker.start();
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
