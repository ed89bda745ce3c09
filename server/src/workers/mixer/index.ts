/** The mixer worker: wiring for `promethean start` (tokenless; give it a bus and nothing else). */
import { AgentRuntime, type AgentBus } from '@promethean/shared/node';
import { MixerWorker, type MixerWorkerOptions } from './worker.ts';

export { Mixer, type MixerFrame, type MixerRequest, type MixerOptions } from './mixer.ts';
export { MixerWorker, type MixerWorkerOptions, type MixerRuntime } from './worker.ts';
export { toStereo48k, resampleMono } from './resample.ts';

export interface RunningMixer {
  runtime: AgentRuntime;
  worker: MixerWorker;
  /** Idempotent. */
  stop(): void;
}

/** Starts the mixer on `bus` under the shared agent runtime (health, lifecycle, error envelopes). */
export function startMixer(bus: AgentBus, options: Partial<MixerWorkerOptions> & { logLevel?: string; buildSha?: string } = {}): RunningMixer {
  const { logLevel, buildSha, ...workerOptions } = options;
  const runtime = new AgentRuntime({ id: 'mixer', kind: 'worker', bus, ...(logLevel ? { logLevel } : {}), ...(buildSha ? { buildSha } : {}) });
  const worker = new MixerWorker(runtime, workerOptions);
  worker.start();
  runtime.start();
  let stopped = false;
  return {
    runtime,
    worker,
    stop() {
      if (stopped) return;
      stopped = true;
      worker.stop();
      runtime.stop();
    },
  };
}
