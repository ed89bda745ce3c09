/**
 * The TTS worker (tokenless): speaks the LLM's replies. Consumes `duck.reply.message` from every
 * provider/tenant; a reply with `speak` is rendered by the tenant's `Tts` engine (speech.yml) and
 * published as one `voice.play.pcm` request on the same provider/tenant, whose `ducking_db` lowers
 * whatever the mixer plays in the background lane while the bot talks (the seeds' playback
 * arbitration; the mixer keeps the one ordered queue per session).
 *
 * Idempotent by (session, segment): a redelivered reply is not spoken twice (a bounded memory of the
 * last `rememberReplies`). One reply is synthesised at a time; beyond `maxQueued` waiting replies the
 * oldest is dropped and counted (`tts.dropped`), so a slow engine never grows memory. A reply longer
 * than `maxChars` is refused with a typed error: the LLM's worker caps replies before they get here.
 */
import { PrometheanError, replyPayloads, type Envelope, type PayloadOf } from '@promethean/shared';
import type { SpeechScope, Tts } from '../../speech/index.ts';

/** What the worker needs of the agent runtime (`AgentRuntime` satisfies it). */
export interface TtsRuntime {
  subscribe(pattern: string, handler: (envelope: Envelope, attachments: Uint8Array[]) => void | Promise<void>): void;
  publish(intent: 'voice.play.pcm', payload: PayloadOf<'voice.play.pcm'>, options: { provider: string; tenant: string; corr?: string; attachments?: readonly Uint8Array[] }): unknown;
  count(name: string, by?: number): void;
}

export interface TtsWorkerOptions {
  pattern: string;
  /** How far the background lane is lowered while the bot speaks, dB (≤ 0). */
  duckingDb: number;
  /** Longest reply spoken, in characters. */
  maxChars: number;
  /** Replies waiting for the engine at most; beyond it the oldest is dropped. */
  maxQueued: number;
  /** (session, segment) pairs remembered for idempotence. */
  rememberReplies: number;
}

export const defaultTtsWorkerOptions: TtsWorkerOptions = {
  pattern: 'promethean.p.*.t.*.duck.reply.message',
  duckingDb: -12,
  maxChars: 600,
  maxQueued: 16,
  rememberReplies: 4096,
};

interface Job {
  env: Envelope;
  reply: PayloadOf<'duck.reply.message'>;
}

export class TtsWorker {
  readonly options: TtsWorkerOptions;
  readonly #runtime: TtsRuntime;
  readonly #ttsFor: (scope: SpeechScope) => Tts;
  readonly #queue: Job[] = [];
  /** Insertion-ordered: the oldest key is forgotten first. */
  readonly #spoken = new Set<string>();
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(runtime: TtsRuntime, ttsFor: (scope: SpeechScope) => Tts, options: Partial<TtsWorkerOptions> = {}) {
    this.#runtime = runtime;
    this.#ttsFor = ttsFor;
    this.options = { ...defaultTtsWorkerOptions, ...options };
  }

  get queued(): number {
    return this.#queue.length;
  }

  start(): void {
    this.#runtime.subscribe(this.options.pattern, (env) => this.onReply(env));
  }

  /** Stops taking replies; resolves when the one being synthesised is published. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#queue.length = 0;
    await this.#running;
  }

  onReply(env: Envelope): void {
    const parsed = replyPayloads['duck.reply.message'].safeParse(env.payload);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = ['payload', ...(issue?.path ?? []).map(String)].join('.');
      throw new PrometheanError('schema', `duck.reply.message ${path}: ${issue?.message ?? 'invalid'}`, { path });
    }
    const reply = parsed.data;
    if (!reply.speak) return;
    if (reply.text.length > this.options.maxChars) {
      throw new PrometheanError('oversize', `reply of ${reply.text.length} characters exceeds ${this.options.maxChars}`, { path: 'payload.text' });
    }
    const key = `${env.provider}/${env.tenant}/${reply.session_id}/${reply.segment_id}`;
    if (this.#spoken.has(key)) {
      this.#runtime.count('tts.duplicates');
      return;
    }
    this.#spoken.add(key);
    if (this.#spoken.size > this.options.rememberReplies) this.#spoken.delete(this.#spoken.values().next().value!);
    if (this.#stopped) return;
    this.#queue.push({ env, reply });
    while (this.#queue.length > this.options.maxQueued) {
      this.#queue.shift();
      this.#runtime.count('tts.dropped');
    }
    this.#running ??= this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      for (let job = this.#queue.shift(); job && !this.#stopped; job = this.#queue.shift()) {
        try {
          await this.#speak(job);
        } catch (error) {
          // One reply's failure (engine down, bad audio) never stops the ones behind it.
          this.#runtime.count('tts.failed');
          void error;
        }
      }
    } finally {
      this.#running = undefined;
    }
  }

  async #speak({ env, reply }: Job): Promise<void> {
    const tts = this.#ttsFor({ tenant: `${env.provider}/${env.tenant}` });
    const audio = await tts.synthesize({ text: reply.text });
    if (this.#stopped) return;
    const bytes = new Uint8Array(audio.pcm.buffer, audio.pcm.byteOffset, audio.pcm.byteLength);
    this.#runtime.publish(
      'voice.play.pcm',
      {
        session_id: reply.session_id,
        format: { rate_hz: audio.sampleRate, channels: 1, codec: 'pcm_s16le' },
        ducking_db: this.options.duckingDb,
        play_id: `reply:${reply.segment_id}`,
        attachment: 0,
      },
      { provider: env.provider, tenant: env.tenant, corr: env.corr ?? env.id, attachments: [bytes] },
    );
    this.#runtime.count('tts.spoken');
    this.#runtime.count('tts.first_audio_ms', Math.round(audio.firstAudioMs));
  }
}
