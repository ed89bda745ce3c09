/** The attachment indexer worker: wiring for `promethean start` (tokenless; a bus, a store, the media proxies). */
import { AgentRuntime, type AgentBus } from '@promethean/shared/node';
import type { Store } from '../../store/index.ts';
import { trackSubscriptions } from '../indexer/index.ts';
import type { AttachmentFetcher } from './fetcher.ts';
import { AttachmentWorker, type AttachmentWorkerOptions } from './worker.ts';

export { AttachmentWorker, defaultAttachmentWorkerOptions, type AttachmentWorkerOptions } from './worker.ts';
export { ProxyMediaFetcher, type AttachmentFetcher, type FetchOutcome, type ProxyMediaFetcherOptions } from './fetcher.ts';
export { sniffContentType } from './sniff.ts';

export interface RunningAttachmentIndexer {
  runtime: AgentRuntime;
  worker: AttachmentWorker;
  ready: Promise<void>;
  stop(): void;
}

export function startAttachmentIndexer(
  bus: AgentBus,
  store: Store,
  fetcher: AttachmentFetcher,
  options: Partial<AttachmentWorkerOptions> & { logLevel?: string; buildSha?: string } = {},
): RunningAttachmentIndexer {
  const { logLevel, buildSha, ...workerOptions } = options;
  const acks: Promise<void>[] = [];
  const runtime = new AgentRuntime({
    id: 'attachment-indexer', kind: 'worker', bus: trackSubscriptions(bus, acks),
    ...(logLevel ? { logLevel } : {}), ...(buildSha ? { buildSha } : {}),
  });
  const worker = new AttachmentWorker(runtime, store, fetcher, workerOptions);
  worker.start();
  runtime.start();
  let stopped = false;
  return {
    runtime,
    worker,
    ready: Promise.all(acks).then(() => undefined),
    stop() {
      if (stopped) return;
      stopped = true;
      worker.stop();
      runtime.stop();
    },
  };
}
