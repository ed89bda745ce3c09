/** cephalon-social, the text brain: wiring for its process and for tests (tokenless; a bus and an LLM). */
import { AgentRuntime, type AgentBus } from '@promethean/shared/node';
import { trackSubscriptions } from '../indexer/index.ts';
import { CephalonSocialWorker, type CephalonSocialOptions } from './worker.ts';

export { CephalonSocialWorker, defaultCephalonSocialOptions, type CephalonSocialOptions, type CephalonRuntime, type LlmScope } from './worker.ts';
export { CephalonSocialPolicy, CephalonFile, CephalonSocialSection, defaultSocialSettings, loadCephalonSocialConfig, parseCephalonSocialConfig, type CephalonSocialConfig, type GuildPolicy, type SocialSettings } from './config.ts';
export { allowAllWatchRules, capLength, filterReply, tidyReply, type FilterResult, type ReplyCandidate, type WatchRules, type WatchVerdict } from './filter.ts';
export { RestThreadHistory, SeenMessages, SemanticRecall, linesFromDiscordPage, type Recall, type ThreadSource } from './history.ts';
export { mentionOf, nameMatcher, readableText, viewOf, type MentionKind, type MessageView } from './mention.ts';
export { buildPrompt, type PromptInput, type ThreadLine } from './prompt.ts';
export { ChannelCooldown } from './cooldown.ts';

export interface RunningCephalonSocial {
  runtime: AgentRuntime;
  worker: CephalonSocialWorker;
  /** Settles when the hub acknowledged every subscription (where the bus reports it). */
  ready: Promise<void>;
  /** Idempotent; waits for the reply being made. */
  stop(): Promise<void>;
}

export function startCephalonSocial(
  bus: AgentBus,
  options: Partial<CephalonSocialOptions> & Pick<CephalonSocialOptions, 'policy' | 'llmFor'> & { id?: string; logLevel?: string; buildSha?: string; configRev?: string; healthIntervalS?: number },
): RunningCephalonSocial {
  const { id, logLevel, buildSha, configRev, healthIntervalS, ...workerOptions } = options;
  const acks: Promise<void>[] = [];
  let worker: CephalonSocialWorker | undefined;
  const runtime = new AgentRuntime({
    id: id ?? 'cephalon-social', kind: 'worker', bus: trackSubscriptions(bus, acks), queueDepth: () => worker?.queued ?? 0,
    ...(logLevel ? { logLevel } : {}), ...(buildSha ? { buildSha } : {}), ...(configRev ? { configRev } : {}), ...(healthIntervalS ? { healthIntervalS } : {}),
  });
  worker = new CephalonSocialWorker(runtime, workerOptions);
  runtime.start();
  worker.start();
  const w = worker;
  let stopping: Promise<void> | undefined;
  return {
    runtime,
    worker: w,
    ready: Promise.all(acks).then(() => undefined),
    stop() {
      stopping ??= (async () => {
        await w.stop();
        runtime.stop();
      })();
      return stopping;
    },
  };
}
