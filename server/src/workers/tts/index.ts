/** The TTS worker: wiring (tokenless; a bus and the speech engines, nothing else). */
import { AgentRuntime, type AgentBus } from '@promethean/shared/node';
import { createEngines, type SpeechConfig, type SpeechScope, type Tts } from '../../speech/index.ts';
import { TtsWorker, type TtsWorkerOptions } from './worker.ts';

export { TtsWorker, defaultTtsWorkerOptions, type TtsRuntime, type TtsWorkerOptions } from './worker.ts';

export interface RunningTts {
  runtime: AgentRuntime;
  worker: TtsWorker;
  /** Idempotent; publishes the reply being synthesised first. */
  stop(): Promise<void>;
}

export function startTts(bus: AgentBus, ttsFor: (scope: SpeechScope) => Tts, options: Partial<TtsWorkerOptions> & { logLevel?: string; buildSha?: string } = {}): RunningTts {
  const { logLevel, buildSha, ...workerOptions } = options;
  const runtime: AgentRuntime = new AgentRuntime({
    id: 'tts', kind: 'worker', bus, queueDepth: () => worker.queued,
    ...(logLevel ? { logLevel } : {}), ...(buildSha ? { buildSha } : {}),
  });
  const worker = new TtsWorker(runtime, ttsFor, workerOptions);
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

/** The tenant's TTS engine from speech.yml, one per tenant (bounded cache). */
export function ttsFromConfig(config: SpeechConfig, localUrl: string | undefined, env: Readonly<Record<string, string | undefined>> = {}): (scope: SpeechScope) => Tts {
  const cache = new Map<string, Tts>();
  return (scope) => {
    const key = `${scope.tenant ?? ''}\n${scope.guild ?? ''}`;
    let tts = cache.get(key);
    if (!tts) {
      tts = createEngines(config, scope, { ...(localUrl ? { localUrl } : {}), env }).tts;
      if (cache.size >= 256) cache.delete(cache.keys().next().value!);
      cache.set(key, tts);
    }
    return tts;
  };
}
