/**
 * The matcher: every final `duck.transcript.segment` is checked against its guild's rules; each rule
 * that matches raises one flag (idempotent by `{session_id}:{segment_id}:{rule_id}`), stored with the
 * span, the clip bounds and (when the PCM ring holds it) the clip's audio, written to the audit log,
 * published as `moderation.flag`, and posted to the guild's mod-log channel when one is configured.
 *
 * The guild of a transcript comes from its voice session (the relay's announcements, through
 * `sessions`); a session the server does not know is skipped and counted. Work is serialised
 * (one transcript at a time) behind a bounded queue: past `maxPending` a transcript is refused with
 * `rate_limited`, which the agent runtime turns into a counted `error` envelope.
 */
import {
  PrometheanError, cosineSimilarity, transcriptPayloads, type Embedder, type Envelope, type KnownIntent, type ModerationFlag, type PayloadOf,
  type TranscriptSegment,
} from '@promethean/shared';
import type { AuditInput, AuditRecord, ModerationFlagInput, ModerationFlagRow, ModerationFlagStatus, Store } from '../store/index.ts';
import type { ClipSource } from './clips.ts';
import { findPhrase, words } from './phrase.ts';
import { RegexRunner } from './regex.ts';
import type { RuleBook } from './rulebook.ts';
import type { CompiledRule } from './rules.ts';
import { clipSpan, timeSpan } from './span.ts';

export interface SessionScope {
  guild_id: string;
  channel_id?: string | undefined;
}

/** Where a voice session lives; undefined when unknown. */
export type SessionResolver = (provider: string, tenant: string, sessionId: string) => SessionScope | undefined;

/** The default session id of a join is `<guild>-<channel>`: the fallback when nothing else knows the session. */
export function sessionFromDefaultId(sessionId: string): SessionScope | undefined {
  const m = /^(\d{1,20})-(\d{1,20})$/.exec(sessionId);
  return m ? { guild_id: m[1]!, channel_id: m[2]! } : undefined;
}

/** What the matcher needs of the agent runtime (`AgentRuntime` satisfies it). */
export interface MatcherRuntime {
  subscribe(pattern: string, handler: (envelope: Envelope, attachments: Uint8Array[]) => void | Promise<void>): void;
  publish<I extends string>(intent: I, payload: I extends KnownIntent ? PayloadOf<I> : unknown, options: { provider: string; tenant: string; corr?: string }): unknown;
  count(name: string, by?: number): void;
}

/** The store methods the matcher uses. */
export type MatcherStore = Pick<Store, 'putModerationFlag'> & { appendAudit(entry: AuditInput): Promise<AuditRecord> };

export interface ModerationMatcherOptions {
  /** Audio kept before and after the matched words, ms. */
  clipPadMs: number;
  /** Longest clip, ms. */
  maxClipMs: number;
  /** Transcripts waiting at most; more are refused with rate_limited. */
  maxPending: number;
  /** Embeddings of semantic rules' texts kept. */
  semanticCacheSize: number;
  /** `src` of what it publishes and `actor` of its audit rows. */
  id: string;
}

export const defaultModerationMatcherOptions: ModerationMatcherOptions = {
  clipPadMs: 1000,
  maxClipMs: 15_000,
  maxPending: 256,
  semanticCacheSize: 1024,
  id: 'moderation',
};

export interface ModerationMatcherDeps {
  store: MatcherStore;
  rules: RuleBook;
  runtime: MatcherRuntime;
  sessions: SessionResolver;
  /** Semantic rules need it; without one they are skipped and counted. */
  embedder?: Embedder | undefined;
  clips?: ClipSource | undefined;
  regex?: RegexRunner | undefined;
}

/** One rule's match in a transcript: UTF-16 offsets, and the similarity of a semantic match. */
export interface RuleMatch {
  rule: CompiledRule;
  start: number;
  end: number;
  score?: number;
}

const TRANSCRIPTS = 'promethean.p.*.t.*.duck.transcript.segment';

/** A flag row as the `moderation.flag` payload (and the HTTP API) shows it. */
export function flagPayload(row: ModerationFlagRow): ModerationFlag {
  return {
    flag_id: row.id,
    status: row.status,
    rule_id: row.rule_id,
    rule_kind: row.rule_kind,
    ...(row.rule_label !== null ? { rule_label: row.rule_label } : {}),
    guild_id: row.guild_id,
    ...(row.channel_id !== null ? { channel_id: row.channel_id } : {}),
    session_id: row.session_id,
    segment_id: row.segment_id,
    speaker: row.speaker_id,
    text: row.text,
    span: { start: row.span_start, end: row.span_end, text: row.span_text, start_ns: row.span_start_ns, end_ns: row.span_end_ns },
    clip: { start_ns: row.clip_start_ns, end_ns: row.clip_end_ns, stored: row.has_clip },
    ...(row.score !== null ? { score: row.score } : {}),
    created_at: row.created_at,
    ...(row.decided_by !== null ? { decided_by: row.decided_by } : {}),
    ...(row.decided_at !== null ? { decided_at: row.decided_at } : {}),
  };
}

export class ModerationMatcher {
  readonly options: ModerationMatcherOptions;
  readonly regex: RegexRunner;
  readonly #deps: ModerationMatcherDeps;
  readonly #vectors = new Map<string, Float32Array>();
  #pending = 0;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(deps: ModerationMatcherDeps, options: Partial<ModerationMatcherOptions> = {}) {
    this.#deps = deps;
    this.options = { ...defaultModerationMatcherOptions, ...options };
    this.regex = deps.regex ?? new RegexRunner();
  }

  start(): void {
    this.#deps.runtime.subscribe(TRANSCRIPTS, (env) => this.onTranscript(env).then(() => undefined));
  }

  /** Handles one transcript envelope; resolves to the flags it created (none for a repeat). */
  onTranscript(env: Envelope): Promise<ModerationFlagRow[]> {
    const { runtime } = this.#deps;
    const parsed = transcriptPayloads['duck.transcript.segment'].safeParse(env.payload);
    if (!parsed.success) {
      runtime.count('rejected.duck.transcript.segment');
      const issue = parsed.error.issues[0]!;
      return Promise.reject(new PrometheanError('schema', `payload.${issue.path.join('.')}: ${issue.message}`, { path: `payload.${issue.path.join('.')}` }));
    }
    if (this.#pending >= this.options.maxPending) {
      runtime.count('refused.busy');
      return Promise.reject(new PrometheanError('rate_limited', `the moderation matcher has ${this.#pending} transcripts waiting`));
    }
    this.#pending++;
    const run = this.#queue.then(() => this.#handle(env, parsed.data));
    this.#queue = run.catch(() => undefined);
    return run.finally(() => this.#pending--);
  }

  /** The matches of a guild's enabled rules in one transcript text (phrase, regex, then semantic). */
  async evaluate(rules: readonly CompiledRule[], text: string): Promise<RuleMatch[]> {
    const { runtime } = this.#deps;
    const enabled = rules.filter((r) => r.def.enabled);
    const out: RuleMatch[] = [];
    const phrases = enabled.filter((r) => r.phrase);
    if (phrases.length > 0) {
      const w = words(text);
      for (const rule of phrases) {
        const m = findPhrase(rule.phrase!, w);
        if (m) out.push({ rule, ...m });
      }
    }
    const regexes = enabled.filter((r) => r.regex);
    if (regexes.length > 0) {
      const outcomes = this.regex.run(regexes.map((r) => ({ key: r.key, re: r.regex! })), text);
      outcomes.forEach((o, i) => {
        if (o === 'timeout') runtime.count('regex.timeouts');
        else if (o === 'quarantined') runtime.count('regex.quarantined_skips');
        else if (o !== null) out.push({ rule: regexes[i]!, start: o[0], end: o[0] + o[1] });
      });
    }
    const semantic = enabled.filter((r) => r.def.kind === 'semantic');
    if (semantic.length > 0 && text.trim().length > 0) {
      const { embedder } = this.#deps;
      if (!embedder) runtime.count('semantic.skipped_no_embedder', semantic.length);
      else {
        try {
          const vectors = await this.#embed(embedder, [text, ...semantic.map((r) => r.def.pattern)]);
          const t = vectors[0]!;
          semantic.forEach((rule, i) => {
            const score = cosineSimilarity(t, vectors[i + 1]!);
            if (score >= rule.def.threshold!) out.push({ rule, start: 0, end: text.length, score: Math.max(-1, Math.min(1, score)) });
          });
        } catch {
          runtime.count('semantic.errors');
        }
      }
    }
    return out;
  }

  async #handle(env: Envelope, seg: TranscriptSegment): Promise<ModerationFlagRow[]> {
    const { runtime, sessions, rules: book, store } = this.#deps;
    if (!seg.final) {
      runtime.count('skipped.partial');
      return [];
    }
    const scope = sessions(env.provider, env.tenant, seg.session_id);
    if (!scope) {
      runtime.count('skipped.unknown_session');
      return [];
    }
    const rules = await book.rules(env.provider, env.tenant, scope.guild_id);
    if (rules.length === 0) {
      runtime.count('skipped.no_rules');
      return [];
    }
    const matches = await this.evaluate(rules, seg.text);
    runtime.count('transcripts.checked');
    const created: ModerationFlagRow[] = [];
    const segmentSpan = { start_ns: BigInt(seg.ts_start_ns), end_ns: BigInt(seg.ts_end_ns) };
    for (const m of matches) {
      const span = timeSpan(seg, m.start, m.end);
      const clip = clipSpan(span, segmentSpan, this.options.clipPadMs, this.options.maxClipMs);
      const audio = this.#deps.clips?.clip({ provider: env.provider, tenant: env.tenant, session_id: seg.session_id, user_id: seg.speaker }, clip);
      const input: ModerationFlagInput = {
        provider: env.provider,
        tenant: env.tenant,
        guild_id: scope.guild_id,
        channel_id: scope.channel_id ?? null,
        session_id: seg.session_id,
        segment_id: seg.segment_id,
        speaker_id: seg.speaker,
        rule_id: m.rule.def.id,
        rule_kind: m.rule.def.kind,
        rule_label: m.rule.def.label ?? null,
        rule_pattern: m.rule.def.pattern,
        text: seg.text,
        span_start: m.start,
        span_end: m.end,
        span_text: seg.text.slice(m.start, m.end).slice(0, 2000),
        span_start_ns: span.start_ns.toString(),
        span_end_ns: span.end_ns.toString(),
        clip_start_ns: clip.start_ns.toString(),
        clip_end_ns: clip.end_ns.toString(),
        clip_pcm: audio?.pcm ?? null,
        clip_rate_hz: audio?.rate_hz ?? null,
        score: m.score ?? null,
      };
      const { created: isNew, flag } = await store.putModerationFlag(input);
      if (!isNew) {
        runtime.count('flags.repeated');
        continue;
      }
      runtime.count(`flags.${flag.rule_kind}`);
      const modLog = book.guild(env.provider, env.tenant, scope.guild_id)?.mod_log_channel;
      await store.appendAudit({
        provider: flag.provider,
        tenant: flag.tenant,
        guild_id: flag.guild_id,
        channel_id: flag.channel_id,
        actor: this.options.id,
        action: 'moderation.flag',
        detail: {
          flag_id: flag.id, rule_id: flag.rule_id, rule_kind: flag.rule_kind, session_id: flag.session_id, segment_id: flag.segment_id,
          speaker: flag.speaker_id, span_text: flag.span_text, clip_stored: flag.has_clip, ...(modLog ? { mod_log_channel: modLog } : {}),
        },
      });
      this.publishFlag(flag, env.id);
      if (modLog) this.#postModLog(flag, modLog);
      created.push(flag);
    }
    return created;
  }

  /** Publishes the flag as it is now (raised, or after a decision). */
  publishFlag(flag: ModerationFlagRow, corr?: string): void {
    this.#deps.runtime.publish('moderation.flag', flagPayload(flag), { provider: flag.provider, tenant: flag.tenant, ...(corr ? { corr } : {}) });
  }

  /** The status a decision leaves, for callers that only know the verb. */
  static statusOf(verb: 'ack' | 'dismiss'): Exclude<ModerationFlagStatus, 'open'> {
    return verb === 'ack' ? 'acknowledged' : 'dismissed';
  }

  #postModLog(flag: ModerationFlagRow, channel: string): void {
    const label = flag.rule_label ?? flag.rule_id;
    // Mentions render as names; the REST agent sends every message with allowed_mentions none, so nobody is pinged.
    const quote = flag.span_text.replace(/\s+/g, ' ').slice(0, 500);
    const text = `Moderation flag #${flag.id} (${flag.rule_kind} rule "${label}") in voice session ${flag.session_id}: <@${flag.speaker_id}> said "${quote}"`;
    this.#deps.runtime.publish(
      'social.command.post',
      {
        provider: flag.provider,
        tenant: flag.tenant,
        space_urn: `urn:${flag.provider}:channel:${flag.tenant}:${channel}`,
        text: text.slice(0, 4000),
        attachments: [],
        nonce: `flag-${flag.provider}-${flag.tenant}-${flag.id}`.slice(0, 64),
      },
      { provider: flag.provider, tenant: flag.tenant },
    );
    this.#deps.runtime.count('mod_log.posted');
  }

  async #embed(embedder: Embedder, texts: string[]): Promise<Float32Array[]> {
    // The transcript is embedded every time; rule texts come from the cache when known.
    const local = new Map<string, Float32Array>();
    for (const t of texts.slice(1)) {
      const v = this.#vectors.get(t);
      if (v) local.set(t, v);
    }
    const missing = [...new Set(texts.slice(1).filter((t) => !local.has(t)))];
    const fresh = await embedder.embed([texts[0]!, ...missing]);
    missing.forEach((t, i) => {
      local.set(t, fresh[i + 1]!);
      if (this.#vectors.size >= this.options.semanticCacheSize) this.#vectors.delete(this.#vectors.keys().next().value!);
      this.#vectors.set(t, fresh[i + 1]!);
    });
    return [fresh[0]!, ...texts.slice(1).map((t) => local.get(t)!)];
  }
}
