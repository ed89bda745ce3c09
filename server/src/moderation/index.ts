/**
 * Moderation signals: per-guild watch rules on transcripts, flags, and their routes. The server runs
 * it in its own process on its store (PGlite is single-process), as it runs the message indexer.
 */
import { VoiceAudioPcm, type Embedder } from '@promethean/shared';
import { AgentRuntime, type AgentBus } from '@promethean/shared/node';
import type { Store } from '../store/index.ts';
import { trackSubscriptions } from '../workers/indexer/index.ts';
import { PcmClipRing, type PcmClipRingOptions } from './clips.ts';
import type { ModerationSettings } from './config.ts';
import { ModerationMatcher, sessionFromDefaultId, type ModerationMatcherOptions, type SessionResolver } from './matcher.ts';
import { RegexRunner, type RegexRunnerOptions } from './regex.ts';
import { RuleBook } from './rulebook.ts';

export { ModerationRuleError } from './errors.ts';
export { loadModerationConfig, parseModerationConfig, ModerationConfigSchema, type ModerationSettings, type GuildModeration } from './config.ts';
export { ModerationMatcher, flagPayload, sessionFromDefaultId, type SessionResolver, type SessionScope, type RuleMatch } from './matcher.ts';
export { RuleBook } from './rulebook.ts';
export { RegexRunner, compileRegex } from './regex.ts';
export { PcmClipRing, type ClipSource } from './clips.ts';
export { compileRule, parseRuleDefinition, RuleDefinitionSchema, type CompiledRule, type RuleDefinition } from './rules.ts';
export { mountModerationRoutes, type ModerationRoutesDeps } from './routes.ts';

export interface StartModerationOptions {
  /** The config file's rules (`loadModerationConfig`); none when absent. Ignored when `rules` is given. */
  settings: ModerationSettings;
  /** The rule book to share with the routes (made from `settings` when absent). */
  rules: RuleBook | undefined;
  /** The regex runner to share with the routes (its quarantines show in the rule list). */
  regexRunner: RegexRunner | undefined;
  /** The guild of a voice session; `<guild>-<channel>` session ids are understood without it. */
  sessions: SessionResolver;
  /** For semantic rules; absent = they are skipped and counted. */
  embedder: Embedder | undefined;
  /** Keep each speaker's last seconds of PCM so flags store their clip (`false` = bounds only). */
  clips: Partial<PcmClipRingOptions> | false;
  matcher: Partial<ModerationMatcherOptions>;
  regex: Partial<RegexRunnerOptions>;
  logLevel: string;
}

export interface RunningModeration {
  runtime: AgentRuntime;
  matcher: ModerationMatcher;
  rules: RuleBook;
  regex: RegexRunner;
  clips: PcmClipRing | undefined;
  /** Settles when the hub acknowledged every subscription. */
  ready: Promise<void>;
  /** Idempotent. */
  stop(): void;
}

export function startModeration(bus: AgentBus, store: Store, options: Partial<StartModerationOptions> = {}): RunningModeration {
  const acks: Promise<void>[] = [];
  const runtime = new AgentRuntime({ id: 'moderation', kind: 'worker', bus: trackSubscriptions(bus, acks), logLevel: options.logLevel ?? 'info' });
  const rules = options.rules ?? new RuleBook(options.settings ?? new Map(), store);
  const regex = options.regexRunner ?? new RegexRunner(options.regex);
  const clips = options.clips === false ? undefined : new PcmClipRing(options.clips ?? {});
  const resolve = options.sessions;
  const sessions: SessionResolver = (provider, tenant, sessionId) => resolve?.(provider, tenant, sessionId) ?? sessionFromDefaultId(sessionId);
  const matcher = new ModerationMatcher({ store, rules, runtime, sessions, embedder: options.embedder, clips, regex }, options.matcher);
  runtime.start();
  matcher.start();
  if (clips) {
    runtime.subscribe('promethean.p.*.t.*.voice.audio.pcm', (env, attachments) => {
      const p = VoiceAudioPcm.safeParse(env.payload);
      if (!p.success || p.data.attachment === undefined) {
        clips.counters.refused++;
        return;
      }
      clips.push({ provider: env.provider, tenant: env.tenant, session_id: p.data.session_id, user_id: p.data.user_id }, p.data.ts_monotonic_ns, p.data.format.rate_hz, p.data.format.channels, attachments[p.data.attachment]);
    });
  }
  let stopped = false;
  return {
    runtime,
    matcher,
    rules,
    regex,
    clips,
    ready: Promise.all(acks).then(() => undefined),
    stop() {
      if (stopped) return;
      stopped = true;
      runtime.stop();
      clips?.clear();
    },
  };
}
