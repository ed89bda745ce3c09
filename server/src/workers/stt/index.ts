/** The STT worker: wiring for `promethean start` (tokenless; give it a bus, engines and the opt-out policy). */
import { makeEnvelope, type Envelope } from '@promethean/shared';
import { AgentRuntime, type AgentBus } from '@promethean/shared/node';
import { createEngines, type SpeechConfig } from '../../speech/config.ts';
import type { Stt } from '../../speech/types.ts';
import { boundedEngineCache } from '../engine-cache.ts';
import { TranscriptionPolicy } from './config.ts';
import { SttWorker, type SttFor, type SttRuntime, type SttWorkerOptions } from './worker.ts';

export { SttWorker, defaultSttWorkerOptions, confidenceOf, modelStamp, type SttFor, type SttRuntime, type SttWorkerOptions, type ModelStamp } from './worker.ts';
export { PcmRing, SpeakerRings, cutTimeToNs, defaultPcmRingOptions, defaultSpeakerRingsOptions, type PcmRingOptions, type RingCut, type RingPiece } from './ring.ts';
export { TranscriptionConfigSchema, TranscriptionPolicy, defaultTranscriptionConfig, parseTranscriptionConfig, type TranscriptionConfig } from './config.ts';

export interface RunningStt {
  runtime: AgentRuntime;
  worker: SttWorker;
  /** Idempotent. */
  stop(): Promise<void>;
}

/** Most (tenant, guild) engine choices kept built. */
const MAX_ENGINES = 256;

/** Engines as speech.yml chooses them per tenant and guild, built once each (the local server at `localUrl`). */
export function sttFromConfig(config: SpeechConfig, localUrl: string | undefined, env: Readonly<Record<string, string | undefined>> = {}): SttFor {
  return boundedEngineCache<Parameters<SttFor>[0], Stt>(
    MAX_ENGINES,
    ({ tenant, guild }) => `${tenant}\n${guild ?? ''}`,
    ({ tenant, guild }) => createEngines(config, { tenant, ...(guild !== undefined ? { guild } : {}) }, { ...(localUrl ? { localUrl } : {}), env }).stt,
  );
}

/**
 * The runtime adapter: `AgentRuntime` stamps one fixed `models` list on what it publishes, but each
 * transcript names the engine and model that made it, so transcripts are built here with their own.
 */
function sttRuntime(runtime: AgentRuntime, bus: AgentBus): SttRuntime {
  return {
    subscribe: (pattern, handler) => runtime.subscribe(pattern, handler),
    count: (name, by) => runtime.count(name, by),
    degraded(on, reason) {
      const state = runtime.state;
      if (on && state === 'RUNNING') runtime.setState('DEGRADED', reason);
      else if (!on && state === 'DEGRADED') runtime.setState('RUNNING');
    },
    publish(intent, payload, options) {
      // Typed by SttRuntime's signature; the runtime's own generic only re-derives the same payload type.
      if (!options.models) return runtime.publish<string>(intent, payload, options);
      const env = makeEnvelope<string>(intent, payload, {
        src: runtime.options.id,
        provider: options.provider,
        tenant: options.tenant,
        build_sha: runtime.options.buildSha,
        config_rev: runtime.options.configRev,
        models: options.models,
        ...(options.corr ? { corr: options.corr } : {}),
      });
      bus.publish(env as Envelope);
      runtime.count(`published.${intent}`);
      return env;
    },
  };
}

export async function startStt(
  bus: AgentBus,
  sttFor: SttFor,
  options: Partial<SttWorkerOptions> & { policy?: TranscriptionPolicy; logLevel?: string; buildSha?: string } = {},
): Promise<RunningStt> {
  const { policy, logLevel, buildSha, ...workerOptions } = options;
  let worker: SttWorker | undefined;
  const runtime = new AgentRuntime({
    id: 'stt',
    kind: 'worker',
    bus,
    queueDepth: () => worker?.queued ?? 0,
    ...(logLevel ? { logLevel } : {}),
    ...(buildSha ? { buildSha } : {}),
  });
  worker = new SttWorker(sttRuntime(runtime, bus), sttFor, policy ?? new TranscriptionPolicy(), workerOptions);
  worker.start();
  runtime.start();
  let stopping: Promise<void> | undefined;
  const w = worker;
  return {
    runtime,
    worker: w,
    stop() {
      stopping ??= (async () => {
        await w.stop();
        runtime.stop();
      })();
      return stopping;
    },
  };
}
