/**
 * The one shape every bus worker is started in: an {@link AgentRuntime} (health, lifecycle, error
 * envelopes, counters) around the worker, the worker subscribed before the runtime reports RUNNING,
 * and an idempotent stop that lets the worker finish what it holds before the runtime says STOPPED.
 */
import { AgentRuntime, type AgentBus } from '@promethean/shared/node';

export interface BusWorker {
  start(): void;
  stop(): unknown;
  /** Work waiting (the runtime's health `queue_depth`); 0 when the worker keeps no queue. */
  readonly queued?: number;
}

export interface RunningWorker<W extends BusWorker> {
  runtime: AgentRuntime;
  worker: W;
  /** Resolves once the hub acknowledged every subscription the worker made at start. */
  ready: Promise<void>;
  /** Idempotent. */
  stop(): Promise<void>;
}

export interface WorkerRuntimeOptions {
  logLevel?: string | undefined;
  buildSha?: string | undefined;
  configRev?: string | undefined;
  healthIntervalS?: number | undefined;
}

export interface WorkerHooks<W extends BusWorker> {
  /** The models the worker runs, for its health. */
  models?: { name: string; version: string }[];
  /** Health `queue_depth` when it is more than `worker.queued`. */
  queueDepth?: (worker: W) => number;
  /** Runs after the worker finished and before the runtime stops (e.g. a last health). */
  beforeStop?: (runtime: AgentRuntime) => void;
}

export function startBusWorker<W extends BusWorker>(
  bus: AgentBus,
  id: string,
  make: (runtime: AgentRuntime) => W,
  options: WorkerRuntimeOptions = {},
  hooks: WorkerHooks<W> = {},
): RunningWorker<W> {
  const { logLevel, buildSha, configRev, healthIntervalS } = options;
  const acks: Promise<void>[] = [];
  // queueDepth is first read by runtime.start(), after the worker exists.
  const runtime: AgentRuntime = new AgentRuntime({
    id, kind: 'worker', bus: trackSubscriptions(bus, acks), queueDepth: () => (hooks.queueDepth ? hooks.queueDepth(worker) : (worker.queued ?? 0)),
    ...(hooks.models ? { models: hooks.models } : {}),
    ...(logLevel ? { logLevel } : {}), ...(buildSha ? { buildSha } : {}), ...(configRev ? { configRev } : {}), ...(healthIntervalS ? { healthIntervalS } : {}),
  });
  const worker = make(runtime);
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
        hooks.beforeStop?.(runtime);
        runtime.stop();
      })();
      return stopping;
    },
  };
}

/** A bus that remembers each subscription's acknowledgement (the hub's BusClient reports one). */
export function trackSubscriptions(bus: AgentBus, acks: Promise<void>[]): AgentBus {
  return {
    publish: (env, attachments) => bus.publish(env, attachments),
    subscribe: (pattern, handler) => {
      const unsubscribe = bus.subscribe(pattern, handler);
      const ready = (unsubscribe as { ready?: Promise<void> }).ready;
      if (ready) acks.push(ready);
      return unsubscribe;
    },
    get queueDepth() {
      return bus.queueDepth ?? 0;
    },
  };
}
