/** The TTS worker: wiring (tokenless; a bus and the speech engines, nothing else). */
import type { AgentBus } from '@promethean/shared/node';
import { startBusWorker, type RunningWorker, type WorkerRuntimeOptions } from '../running.ts';
import { boundedEngineCache } from '../engine-cache.ts';
import { createEngines, type SpeechConfig, type SpeechScope, type Tts } from '../../speech/index.ts';
import { TtsWorker, type TtsWorkerOptions } from './worker.ts';

export { TtsWorker, defaultTtsWorkerOptions, type TtsRuntime, type TtsWorkerOptions } from './worker.ts';

export type RunningTts = RunningWorker<TtsWorker>;

export function startTts(bus: AgentBus, ttsFor: (scope: SpeechScope) => Tts, options: Partial<TtsWorkerOptions> & WorkerRuntimeOptions = {}): RunningTts {
  const { logLevel, buildSha, configRev, ...workerOptions } = options;
  return startBusWorker(bus, 'tts', (runtime) => new TtsWorker(runtime, ttsFor, workerOptions), { logLevel, buildSha, configRev });
}

/** The tenant's TTS engine from speech.yml, one per tenant (bounded cache). */
export function ttsFromConfig(config: SpeechConfig, localUrl: string | undefined, env: Readonly<Record<string, string | undefined>> = {}): (scope: SpeechScope) => Tts {
  return boundedEngineCache(
    256,
    (scope: SpeechScope) => `${scope.tenant ?? ''}\n${scope.guild ?? ''}`,
    (scope) => createEngines(config, scope, { ...(localUrl ? { localUrl } : {}), env }).tts,
  );
}
