/**
 * cephalon-voice (tokenless): the voice brain. When a final transcript in a guild that cephalon.yml or
 * an owner's console switch (`cephalon.toggles`, which wins) turns on names the bot, it asks the LLM
 * (temperature 0, a token cap) with the session's last few transcript lines and publishes the answer as `duck.reply.message`; the TTS worker speaks it, the
 * mixer plays it ducked over anything in the background, and the voice access agent sends it to
 * Discord (the seeds' segment → STT → LLM → TTS → mixer → Discord).
 *
 * It learns each session's guild from `voice.state.connected`. Bounded: sessions remembered (with
 * their recent lines), one question at a time behind a drop-oldest queue, a cooldown per session,
 * and replies capped in length (the output filter) before they are spoken.
 */
import { PrometheanError, transcriptPayloads, voicePayloads, type Envelope, type PayloadOf } from '@promethean/shared';
import type { Llm } from '../../speech/index.ts';
import type { CephalonVoicePolicy } from './config.ts';
import { BrainToggles } from '../../bot/toggles.ts';

export interface CephalonVoiceRuntime {
  subscribe(pattern: string, handler: (envelope: Envelope, attachments: Uint8Array[]) => void | Promise<void>): void;
  publish(intent: 'duck.reply.message', payload: PayloadOf<'duck.reply.message'>, options: { provider: string; tenant: string; corr?: string }): unknown;
  publish(intent: 'cephalon.toggles.query', payload: PayloadOf<'cephalon.toggles.query'>, options: { provider: string; tenant: string }): unknown;
  count(name: string, by?: number): void;
}

export interface LlmScope {
  provider: string;
  tenant: string;
  guildId: string;
}

export interface CephalonVoiceOptions {
  maxSessions: number;
  maxQueued: number;
  /** Monotonic ms (tests pass their own). */
  now: () => number;
}

export const defaultCephalonVoiceOptions: CephalonVoiceOptions = { maxSessions: 1024, maxQueued: 8, now: () => performance.now() };

interface Session {
  guildId: string | undefined;
  lines: string[];
  lastReplyAt: number;
  /** Display names from the session's last `voice.members` snapshot (at most 1,000, the schema's cap). */
  names: Map<string, string>;
}

interface Question {
  env: Envelope;
  t: PayloadOf<'duck.transcript.segment'>;
  guildId: string;
  context: string[];
  /** Who asked, as the prompt names them. */
  asker: string;
}

const SYSTEM = 'You are Promethean, a bot listening in a Discord voice channel. Answer the question addressed to you in one short sentence that can be spoken aloud.';

export class CephalonVoice {
  readonly options: CephalonVoiceOptions;
  /** The owners' console switches (`cephalon.toggles`); they win over cephalon.yml. */
  readonly toggles: BrainToggles;
  readonly #runtime: CephalonVoiceRuntime;
  readonly #policy: CephalonVoicePolicy;
  readonly #llmFor: (scope: LlmScope) => Llm;
  readonly #sessions = new Map<string, Session>();
  readonly #queue: Question[] = [];
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(runtime: CephalonVoiceRuntime, policy: CephalonVoicePolicy, llmFor: (scope: LlmScope) => Llm, options: Partial<CephalonVoiceOptions> = {}) {
    this.#runtime = runtime;
    this.#policy = policy;
    this.#llmFor = llmFor;
    this.options = { ...defaultCephalonVoiceOptions, ...options };
    this.toggles = new BrainToggles(runtime, 'voice', 'cephalon-voice');
  }

  get queued(): number {
    return this.#queue.length;
  }

  start(): void {
    this.#runtime.subscribe('promethean.p.*.t.*.voice.state.connected', (env) => this.onState(env));
    this.#runtime.subscribe('promethean.p.*.t.*.voice.members', (env) => this.onMembers(env));
    this.#runtime.subscribe('promethean.p.*.t.*.duck.transcript.segment', (env) => this.onTranscript(env));
    this.toggles.start();
  }

  /** Whether the voice brain answers in a guild: an owner's console switch, else cephalon.yml (off by default). */
  enabled(provider: string, tenant: string, guildId: string): boolean {
    return this.toggles.state(provider, tenant, guildId) ?? this.#policy.enabled(provider, tenant, guildId);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#queue.length = 0;
    await this.#running;
  }

  onState(env: Envelope): void {
    const p = parse(voicePayloads['voice.state.connected'], env, 'voice.state.connected');
    this.#session(env, p.session_id).guildId = p.guild_id;
  }

  /** Who is in the channel: the prompt names speakers by display name, never by user id (a small model reads ids aloud). */
  onMembers(env: Envelope): void {
    const p = parse(voicePayloads['voice.members'], env, 'voice.members');
    const s = this.#session(env, p.session_id);
    s.guildId ??= p.guild_id;
    s.names = new Map(p.members.map((m) => [m.user_id, m.display_name]));
  }

  /** The speaker as the prompt names them: their display name, or "someone" while the roster has not named them. */
  #speakerName(s: Session, userId: string): string {
    const name = s.names.get(userId);
    return name === undefined || name === userId ? 'someone' : name;
  }

  onTranscript(env: Envelope): void {
    const t = parse(transcriptPayloads['duck.transcript.segment'], env, 'duck.transcript.segment');
    if (!t.final || t.text.trim() === '') return;
    const s = this.#session(env, t.session_id);
    const context = s.lines.slice(-this.#policy.config.context_lines);
    s.lines.push(`${this.#speakerName(s, t.speaker)}: ${t.text.trim()}`);
    if (s.lines.length > 50) s.lines.splice(0, s.lines.length - 50);
    if (!this.#policy.addressed(env.provider, env.tenant, t.text)) return;
    this.#runtime.count('cephalon.addressed');
    if (s.guildId === undefined || !this.enabled(env.provider, env.tenant, s.guildId)) {
      this.#runtime.count('cephalon.guild_off');
      return;
    }
    const now = this.options.now();
    if (now - s.lastReplyAt < this.#policy.config.cooldown_s * 1000) {
      this.#runtime.count('cephalon.cooldown');
      return;
    }
    s.lastReplyAt = now;
    this.#queue.push({ env, t, guildId: s.guildId, context, asker: this.#speakerName(s, t.speaker) });
    while (this.#queue.length > this.options.maxQueued) {
      this.#queue.shift();
      this.#runtime.count('cephalon.dropped');
    }
    this.#running ??= this.#drain();
  }

  #session(env: Envelope, sessionId: string): Session {
    const key = `${env.provider}/${env.tenant}/${sessionId}`;
    let s = this.#sessions.get(key);
    if (!s) {
      if (this.#sessions.size >= this.options.maxSessions) this.#sessions.delete(this.#sessions.keys().next().value!);
      s = { guildId: undefined, lines: [], lastReplyAt: Number.NEGATIVE_INFINITY, names: new Map() };
      this.#sessions.set(key, s);
    }
    return s;
  }

  async #drain(): Promise<void> {
    try {
      for (let q = this.#queue.shift(); q && !this.#stopped; q = this.#queue.shift()) {
        try {
          await this.#answer(q);
        } catch {
          // An LLM that is down or slow costs this question only.
          this.#runtime.count('cephalon.failed');
        }
      }
    } finally {
      this.#running = undefined;
    }
  }

  async #answer({ env, t, guildId, context, asker }: Question): Promise<void> {
    const c = this.#policy.config;
    const t0 = this.options.now();
    const llm = this.#llmFor({ provider: env.provider, tenant: env.tenant, guildId });
    const user = [...(context.length > 0 ? ['Recent conversation:', ...context, ''] : []), `Question from ${asker}: ${t.text.trim()}`].join('\n');
    const out = await llm.complete({ messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: user }], temperature: 0, maxTokens: c.max_tokens });
    if (this.#stopped) return;
    // The output filter: one line of plain text, capped.
    let text = out.text.replace(/\s+/g, ' ').trim();
    let finish: 'stop' | 'length' | 'filtered' = out.finishReason === 'length' ? 'length' : 'stop';
    if (text.length > c.max_reply_chars) {
      text = text.slice(0, c.max_reply_chars);
      finish = 'filtered';
    }
    if (text === '') {
      this.#runtime.count('cephalon.empty');
      return;
    }
    this.#runtime.publish(
      'duck.reply.message',
      {
        session_id: t.session_id,
        segment_id: t.segment_id,
        text,
        latency_ms: Math.max(0, this.options.now() - t0),
        speak: true,
        finish_reason: finish,
        usage: { prompt_tokens: out.promptTokens, completion_tokens: out.completionTokens },
      },
      { provider: env.provider, tenant: env.tenant, corr: env.corr ?? env.id },
    );
    this.#runtime.count('cephalon.replied');
  }
}

function parse<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } } }, env: Envelope, intent: string): T {
  const r = schema.safeParse(env.payload);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = ['payload', ...(issue?.path ?? []).map(String)].join('.');
  throw new PrometheanError('schema', `${intent} ${path}: ${issue?.message ?? 'invalid'}`, { path });
}
