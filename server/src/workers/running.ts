/**
 * The one shape every bus worker is started in: an {@link AgentRuntime} (health, lifecycle, error
 * envelopes, counters) around the worker, the worker subscribed before the runtime reports RUNNING,
 * and an idempotent stop that lets the worker finish what it holds before the runtime says STOPPED.
 */
import { AgentRuntime, type AgentBus } from '@promethean/shared/node';

export interface BusWorker {
  start(): void;
  stop(): unknown;
  /** Work waiting (the runtime's health `queue_depth`). */
  readonly queued: number;
}

export interface RunningWorker<W extends BusWorker> {
  runtime: AgentRuntime;
  worker: W;
  /** Idempotent. */
  stop(): Promise<void>;
}

export interface WorkerRuntimeOptions {
  logLevel?: string | undefined;
  buildSha?: string | undefined;
  configRev?: string | undefined;
}

export function startBusWorker<W extends BusWorker>(bus: AgentBus, id: string, make: (runtime: AgentRuntime) => W, options: WorkerRuntimeOptions = {}): RunningWorker<W> {
  const { logLevel, buildSha, configRev } = options;
  // queueDepth is first read by runtime.start(), after the worker exists.
  const runtime: AgentRuntime = new AgentRuntime({
    id, kind: 'worker', bus, queueDepth: () => worker.queued,
    ...(logLevel ? { logLevel } : {}), ...(buildSha ? { buildSha } : {}), ...(configRev ? { configRev } : {}),
  });
  const worker = make(runtime);
  worker.start();
  runtime.start();
  let stopping: Promise<void> | undefined;
  return {
    runtime,
    worker,
    stop() {
      stopping ??= (async () => {
        await worker.stop();
        runtime.stop();
      })();
      return stopping;
    },
  };
}
