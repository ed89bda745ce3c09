/**
 * The `mixer` worker: tokenless. Consumes `voice.play.pcm` from any provider/tenant, keeps ordered
 * playback queues per session (a main lane and a background lane ducked under it), applies `gain_db`
 * and `ducking_db`, and publishes `voice.play.pcm.out` 20 ms frames of 48 kHz stereo in real time on
 * the same provider/tenant (PCM as attachment 0). `voice.play.stop` drops a session's playback and
 * holds its main lane for `holdAfterStopMs` (the kill switch: a reply still being synthesised does not
 * start moments later; a console's "say this" still plays).
 */
import { readFile, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { PrometheanError, voicePayloads, type Envelope, type PayloadOf } from '@promethean/shared';
import { Mixer, type MixerFrame, type MixerOptions } from './mixer.ts';
import { toStereo48k } from './resample.ts';

/** The part of the shared agent runtime the worker uses (`AgentRuntime` satisfies it). */
export interface MixerRuntime {
  subscribe(pattern: string, handler: (envelope: Envelope, attachments: Uint8Array[]) => void | Promise<void>): void;
  publish(intent: 'voice.play.pcm.out', payload: PayloadOf<'voice.play.pcm.out'>, options: { provider: string; tenant: string; corr?: string; attachments?: readonly Uint8Array[] }): unknown;
  count?(name: string, by?: number): void;
}

export interface MixerWorkerOptions {
  /** Subscription pattern for play requests. */
  pattern: string;
  /** Subscription pattern for stop requests (the kill switch). */
  stopPattern: string;
  /** Directories `data_path` may point into; empty = data_path refused. */
  dataDirs: string[];
  /** Largest request accepted, in seconds of audio. */
  maxSeconds: number;
  /**
   * Largest request accepted, in bytes of PCM (checked before decoding base64 or reading a file, so
   * a huge request costs nothing). 32 MiB ≈ 175 s of 48 kHz stereo.
   */
  maxBytes: number;
  mixer: Partial<MixerOptions>;
  /**
   * After a stop of a session's main lane (the kill switch), its main-lane requests are refused for
   * this long, ms, except a console's "say this" (`play_id` `reply:say:…`): a reply the TTS worker was
   * still synthesising when the bot was silenced does not start seconds later. 0 = off.
   */
  holdAfterStopMs: number;
  /** Sessions whose hold is remembered at most (the oldest forgotten first). */
  maxHeldSessions: number;
  /** Monotonic ms (tests pass their own). */
  now: () => number;
}

export const defaultMixerWorkerOptions: MixerWorkerOptions = {
  pattern: 'promethean.p.*.t.*.voice.play.pcm',
  stopPattern: 'promethean.p.*.t.*.voice.play.stop',
  dataDirs: [],
  maxSeconds: 300,
  maxBytes: 32 * 1024 * 1024,
  mixer: {},
  holdAfterStopMs: 10_000,
  maxHeldSessions: 4096,
  now: () => performance.now(),
};

export class MixerWorker {
  readonly options: MixerWorkerOptions;
  readonly mixer: Mixer;
  private readonly runtime: MixerRuntime;
  /** `provider/tenant/session` → until when its main lane is held after a stop (monotonic ms). */
  readonly #held = new Map<string, number>();

  constructor(runtime: MixerRuntime, options: Partial<MixerWorkerOptions> = {}) {
    this.runtime = runtime;
    this.options = { ...defaultMixerWorkerOptions, ...options };
    this.mixer = new Mixer((f) => this.publish(f), this.options.mixer);
  }

  start(): void {
    this.runtime.subscribe(this.options.pattern, (env, att) => this.onPlay(env, att));
    this.runtime.subscribe(this.options.stopPattern, (env) => {
      this.onStop(env);
    });
  }

  /** Drops the session's queued and playing requests; returns how many. */
  onStop(env: Envelope): number {
    const parsed = voicePayloads['voice.play.stop'].safeParse(env.payload);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = ['payload', ...(issue?.path ?? []).map(String)].join('.');
      throw new PrometheanError('schema', `voice.play.stop ${path}: ${issue?.message ?? 'invalid'}`, { path });
    }
    const { session_id, lane } = parsed.data;
    if (lane !== 'background' && this.options.holdAfterStopMs > 0) {
      const key = `${env.provider}/${env.tenant}/${session_id}`;
      this.#held.delete(key);
      if (this.#held.size >= this.options.maxHeldSessions) this.#held.delete(this.#held.keys().next().value!);
      this.#held.set(key, this.options.now() + this.options.holdAfterStopMs);
    }
    const dropped = this.mixer.stop(env.provider, env.tenant, session_id, lane);
    this.runtime.count?.('stop.requests');
    this.runtime.count?.('stop.dropped', dropped);
    return dropped;
  }

  /** Whether a session's main lane is held after a stop (and forgets holds that ended). */
  #isHeld(provider: string, tenant: string, sessionId: string): boolean {
    const key = `${provider}/${tenant}/${sessionId}`;
    const until = this.#held.get(key);
    if (until === undefined) return false;
    if (this.options.now() < until) return true;
    this.#held.delete(key);
    return false;
  }

  stop(): void {
    this.mixer.close();
  }

  async onPlay(env: Envelope, attachments: Uint8Array[]): Promise<void> {
    const parsed = voicePayloads['voice.play.pcm'].safeParse(env.payload);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = ['payload', ...(issue?.path ?? []).map(String)].join('.');
      throw new PrometheanError('schema', `voice.play.pcm ${path}: ${issue?.message ?? 'invalid'}`, { path });
    }
    const p = parsed.data;
    if (p.lane !== 'background' && !p.play_id?.startsWith('reply:say:') && this.#isHeld(env.provider, env.tenant, p.session_id)) {
      this.runtime.count?.('play.held');
      throw new PrometheanError('invalid_state', `session ${p.session_id} was silenced less than ${this.options.holdAfterStopMs} ms ago; this request is dropped`, { path: 'payload.session_id' });
    }
    const bytes = await this.audio(p, attachments);
    if (bytes.byteLength % (2 * p.format.channels) !== 0) {
      throw new PrometheanError('bad_frame', `PCM of ${bytes.byteLength} bytes is not whole ${p.format.channels}-channel s16 frames`, { path: 'payload.attachment' });
    }
    const seconds = bytes.byteLength / (2 * p.format.channels * p.format.rate_hz);
    if (seconds > this.options.maxSeconds) throw new PrometheanError('oversize', `play request of ${seconds.toFixed(1)} s exceeds ${this.options.maxSeconds} s`);
    const samples = new Int16Array(bytes.byteLength / 2);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(2 * i, true);
    const stereo = toStereo48k(samples, p.format.rate_hz, p.format.channels, p.gain_db ?? 0);
    const result = this.mixer.enqueue({ provider: env.provider, tenant: env.tenant, sessionId: p.session_id, playId: p.play_id, stereo, lane: p.lane, duckingDb: p.ducking_db });
    if (result === 'queue_full') throw new PrometheanError('oversize', `playback queue of session ${p.session_id} is full`);
    if (result === 'sessions_full') throw new PrometheanError('unavailable', `the mixer already plays for ${this.mixer.options.maxSessions} sessions`, { path: 'payload.session_id' });
    if (result === 'closed') throw new PrometheanError('invalid_state', 'the mixer is stopped');
  }

  private async audio(p: PayloadOf<'voice.play.pcm'>, attachments: Uint8Array[]): Promise<Uint8Array> {
    const max = this.options.maxBytes;
    const tooBig = (bytes: number, path: string) => new PrometheanError('oversize', `play request of ${bytes} bytes exceeds ${max} bytes`, { path });
    if (p.attachment !== undefined) {
      const a = attachments[p.attachment];
      if (!a) throw new PrometheanError('bad_frame', `attachment ${p.attachment} is missing`, { path: 'payload.attachment' });
      if (a.byteLength > max) throw tooBig(a.byteLength, 'payload.attachment');
      return a;
    }
    if (p.data_b64 !== undefined) {
      const bytes = Math.floor((p.data_b64.length * 3) / 4);
      if (bytes > max + 2) throw tooBig(bytes, 'payload.data_b64');
      return new Uint8Array(Buffer.from(p.data_b64, 'base64'));
    }
    const path = resolve(p.data_path!);
    if (!this.options.dataDirs.some((d) => path.startsWith(resolve(d) + sep))) {
      throw new PrometheanError('forbidden', `data_path ${path} is outside the mixer's data directories`, { path: 'payload.data_path' });
    }
    const size = (await stat(path)).size;
    if (size > max) throw tooBig(size, 'payload.data_path');
    return new Uint8Array(await readFile(path));
  }

  private publish(f: MixerFrame): void {
    this.runtime.publish(
      'voice.play.pcm.out',
      {
        session_id: f.sessionId,
        ...(f.playId ? { play_id: f.playId } : {}),
        seq: f.seq,
        format: { rate_hz: 48000, channels: 2, codec: 'pcm_s16le' },
        last: f.last,
        attachment: 0,
      },
      { provider: f.provider, tenant: f.tenant, attachments: [new Uint8Array(f.pcm.buffer, f.pcm.byteOffset, f.pcm.byteLength)] },
    );
  }
}
