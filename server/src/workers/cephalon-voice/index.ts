/** cephalon-voice: wiring (tokenless; a bus, the policy and the LLM engines). */
import type { AgentBus } from '@promethean/shared/node';
import { startBusWorker, type RunningWorker, type WorkerRuntimeOptions } from '../running.ts';
import { boundedEngineCache } from '../engine-cache.ts';
import { createEngines, type Llm, type SpeechConfig } from '../../speech/index.ts';
import type { CephalonVoicePolicy } from './config.ts';
import { CephalonVoice, type CephalonVoiceOptions, type LlmScope } from './worker.ts';

export { CephalonVoice, defaultCephalonVoiceOptions, type CephalonVoiceOptions, type CephalonVoiceRuntime, type LlmScope } from './worker.ts';
export { CephalonVoicePolicy, CephalonVoiceSection, parseCephalonVoiceConfig, type CephalonVoiceConfig } from './config.ts';

export type RunningCephalonVoice = RunningWorker<CephalonVoice>;

export function startCephalonVoice(bus: AgentBus, policy: CephalonVoicePolicy, llmFor: (scope: LlmScope) => Llm, options: Partial<CephalonVoiceOptions> & WorkerRuntimeOptions = {}): RunningCephalonVoice {
  const { logLevel, buildSha, configRev, ...workerOptions } = options;
  return startBusWorker(bus, 'cephalon-voice', (runtime) => new CephalonVoice(runtime, policy, llmFor, workerOptions), { logLevel, buildSha, configRev });
}

/** The LLM per (tenant, guild) from speech.yml, made once each (bounded). */
export function llmFromConfig(config: SpeechConfig, localUrl: string | undefined, env: Readonly<Record<string, string | undefined>> = {}): (scope: LlmScope) => Llm {
  return boundedEngineCache(
    1024,
    (scope: LlmScope) => `${scope.provider}/${scope.tenant}/${scope.guildId}`,
    (scope) => createEngines(config, { tenant: `${scope.provider}/${scope.tenant}`, guild: scope.guildId }, { ...(localUrl ? { localUrl } : {}), env }).llm,
  );
}
