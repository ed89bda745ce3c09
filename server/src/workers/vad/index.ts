/** The VAD worker: wiring for `promethean start` (tokenless; give it a bus and a model). */
import { AgentRuntime, type AgentBus } from '@promethean/shared/node';
import { SILERO_MODEL_NAME, SileroModel } from '../../dsp/silero.ts';
import { VadWorker, type VadWorkerOptions } from './worker.ts';

export { VadWorker, defaultVadWorkerOptions, type VadRuntime, type VadWorkerOptions } from './worker.ts';
export { VadStream, defaultVadStreamOptions, type TimedSegment, type VadStreamOptions } from './stream.ts';

export interface RunningVad {
  runtime: AgentRuntime;
  worker: VadWorker;
  model: SileroModel;
  /** Idempotent. */
  stop(): Promise<void>;
}

/** Loads Silero (from the model manifest, sha256 checked) and starts the worker on `bus`. */
export async function startVad(bus: AgentBus, options: Partial<VadWorkerOptions> & { logLevel?: string; buildSha?: string; model?: SileroModel } = {}): Promise<RunningVad> {
  const { logLevel, buildSha, model: given, ...workerOptions } = options;
  const model = given ?? (await SileroModel.load());
  const runtime = new AgentRuntime({
    id: 'vad',
    kind: 'worker',
    bus,
    models: [{ name: SILERO_MODEL_NAME, version: 'v5', ...(model.sha256 ? { checksum: `sha256:${model.sha256}` } : {}) }],
    ...(logLevel ? { logLevel } : {}),
    ...(buildSha ? { buildSha } : {}),
  });
  const worker = new VadWorker(runtime, model, workerOptions);
  worker.start();
  runtime.start();
  let stopping: Promise<void> | undefined;
  return {
    runtime,
    worker,
    model,
    stop() {
      stopping ??= (async () => {
        worker.stop();
        runtime.stop();
        if (!given) await model.close();
      })();
      return stopping;
    },
  };
}
