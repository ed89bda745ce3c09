/**
 * Runs the simulated speakers: joins them to the guild and voice channel, ticks their frame clocks,
 * applies impairments, sends due packets through the voice server and writes the send log.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { InvalidStateError } from '@promethean/shared';
import { readWavFile } from '../audio/wav.ts';
import type { PcmAudio } from '../audio/wav.ts';
import { toStereo48k } from '../audio/resample.ts';
import { StandinConfigError } from '../util/errors.ts';
import type { Prng } from '../util/prng.ts';
import type { VoiceServer } from '../voice/server.ts';
import type { SpeakerProfile, VoiceFlags, World } from '../world.ts';
import { impairmentProblem } from './impairment.ts';
import type { ImpairmentOptions } from './impairment.ts';
import { SendLog } from './sendlog.ts';
import { Speaker } from './speaker.ts';
import type { PlayOptions, SpeakerFrame } from './speaker.ts';

export interface SpeakerSpec extends SpeakerProfile {
  /**
   * Username; unique among the speakers in the channel. The global display name defaults to it
   * capitalised ("alice" → "Alice"); a name that left and joins again is the same user.
   */
  name: string;
  /** WAV file to play (any rate, mono or stereo). */
  file?: string;
  /** Or audio already in memory. */
  audio?: PcmAudio;
  /** Per-speaker impairment, over the stand-in's defaults. */
  impairment?: Partial<ImpairmentOptions>;
  /** Voice flags on joining (default all false). */
  voice?: VoiceFlags;
  /**
   * With the stand-in's autoplay: pause between this speaker's looped passes, ms, instead of the
   * stand-in's `loopPauseMs` (a speaker who speaks now and then, such as the demo's asker).
   */
  pauseMs?: number;
}

export interface SpeakerInfo {
  name: string;
  userId: string;
  ssrc: number;
  status: Speaker['status'];
  durationMs: number;
}

export interface SpeakerManagerEvents {
  /** Every frame a speaker produced (sent or dropped): what that participant "said". */
  frame: [frame: SpeakerFrame];
}

export interface SpeakerManagerDeps {
  world: World;
  voice: VoiceServer;
  prng: Prng;
  /** Defaults for every speaker. */
  impairment: ImpairmentOptions;
  /** Opus bitrate, bits/s. */
  bitrate: number;
  /** 1 = real time; 0.25 = frames four times faster (for quick tests with raw clients). */
  timeScale: number;
  /** Scheduler tick, ms. */
  tickMs: number;
}

interface Pending {
  frame: SpeakerFrame;
  sendAt: number;
  order: number;
}

export class SpeakerManager extends EventEmitter<SpeakerManagerEvents> {
  readonly sendLog = new SendLog();
  /** Ticks that threw (a bug, reported through the log instead of crashing the process). */
  tickErrors = 0;
  readonly #speakers = new Map<string, Speaker>();
  readonly #pending: Pending[] = [];
  readonly #timer: NodeJS.Timeout;
  readonly #t0 = performance.now();
  readonly #deps: SpeakerManagerDeps;
  #order = 0;
  #closed = false;

  constructor(deps: SpeakerManagerDeps) {
    super();
    this.#deps = deps;
    this.#timer = setInterval(() => {
      try {
        this.#tick();
      } catch (error) {
        this.tickErrors++;
        deps.voice.log(`speaker tick failed: ${(error as Error).stack ?? String(error)}`);
      }
    }, deps.tickMs);
  }

  /** ms on the stand-in clock (0 = manager start). */
  now(): number {
    return performance.now() - this.#t0;
  }

  /** Adds a speaker to the guild and the voice channel. Throws StandinConfigError on a bad spec. */
  join(spec: SpeakerSpec): SpeakerInfo {
    if (this.#closed) throw new InvalidStateError('the stand-in is closed');
    if (!spec.name || this.#speakers.has(spec.name)) throw new StandinConfigError(`speaker name "${spec.name}" is empty or taken`, { path: 'speakers.name' });
    const problem = impairmentProblem(spec.impairment ?? {}, `speakers.${spec.name}.impairment`);
    if (problem) throw new StandinConfigError(problem);
    if (spec.pauseMs !== undefined && !(spec.pauseMs >= 0 && spec.pauseMs <= 3_600_000)) throw new StandinConfigError(`speaker "${spec.name}": pauseMs must be within 0..3600000`, { path: 'speakers.pauseMs' });
    const audio = spec.audio ?? (spec.file ? readWavFile(spec.file) : undefined);
    if (!audio) throw new StandinConfigError(`speaker "${spec.name}" needs a file or audio`, { path: 'speakers.file' });
    const { world, voice, prng } = this.#deps;
    const user = world.addSpeaker(spec.name, spec);
    const speaker = new Speaker({
      name: spec.name,
      userId: user.id,
      ssrc: voice.newSsrc(),
      audio: toStereo48k(audio),
      prng: prng.fork(spec.name),
      impairment: { ...this.#deps.impairment, ...spec.impairment },
      bitrate: this.#deps.bitrate,
      clockStart: this.now(),
      timeScale: this.#deps.timeScale,
    });
    speaker.on('spurtStart', (s) => voice.speakerSpeaking(s, true));
    speaker.on('passEnd', (s) => {
      if (s.status !== 'talking') voice.speakerSpeaking(s, false);
    });
    this.#speakers.set(spec.name, speaker);
    world.setVoiceChannel(user.id, world.voiceChannelId, `speaker-${user.id}`, spec.voice);
    voice.speakerJoined(speaker);
    return info(speaker);
  }

  /** Mutes / deafens a speaker (self or server), announced with VOICE_STATE_UPDATE. Audio keeps flowing. */
  setVoiceFlags(name: string, flags: VoiceFlags): void {
    this.#deps.world.setVoiceFlags(this.#get(name).userId, flags);
  }

  /** Removes a speaker from the channel (clients get op 13 Client Disconnect). */
  leave(name: string): void {
    const speaker = this.#get(name);
    speaker.markLeft();
    speaker.emit('passEnd', speaker); // settles a pending play()
    this.#speakers.delete(name);
    this.#deps.voice.speakerLeft(speaker);
    this.#deps.world.setVoiceChannel(speaker.userId, null, `speaker-${speaker.userId}`);
  }

  /** Starts a pass; resolves when the pass (and its silence frames) has been produced, or the speaker left. */
  play(name: string, options: Partial<PlayOptions> = {}): Promise<void> {
    const speaker = this.#get(name);
    const done = new Promise<void>((resolve) => speaker.once('passEnd', () => resolve()));
    speaker.play(options);
    return done;
  }

  stop(name: string): void {
    this.#get(name).stop();
  }

  list(): SpeakerInfo[] {
    return [...this.#speakers.values()].map(info);
  }

  get(name: string): SpeakerInfo | undefined {
    const s = this.#speakers.get(name);
    return s ? info(s) : undefined;
  }

  #get(name: string): Speaker {
    const s = this.#speakers.get(name);
    if (!s) throw new StandinConfigError(`no speaker named "${name}"`);
    return s;
  }

  #tick(): void {
    const now = this.now();
    const produced: SpeakerFrame[] = [];
    for (const s of this.#speakers.values()) s.collect(now, produced);
    for (const frame of produced) {
      this.emit('frame', frame);
      const decision = frame.speaker.impairment.decide(frame.speaker.frameMs);
      if (decision.dropped) {
        this.#log(frame, decision.delayMs, undefined, 'loss', 0);
        continue;
      }
      this.#pending.push({ frame, sendAt: frame.dueAt + decision.delayMs, order: this.#order++ });
    }
    if (this.#pending.length === 0) return;
    this.#pending.sort((a, b) => a.sendAt - b.sendAt || a.order - b.order);
    while (this.#pending.length > 0 && (this.#pending[0] as Pending).sendAt <= now) {
      const { frame, sendAt } = this.#pending.shift() as Pending;
      const blocked = this.#deps.voice.udp.blocked;
      const recipients = blocked ? 0 : this.#deps.voice.forwardSpeakerFrame(frame.speaker, frame, frame.opus);
      this.#log(frame, sendAt - frame.dueAt, blocked ? undefined : this.now(), blocked ? 'udp-fault' : undefined, recipients);
    }
  }

  #log(frame: SpeakerFrame, delayMs: number, sentAt: number | undefined, reason: 'loss' | 'udp-fault' | undefined, recipients: number): void {
    const s = frame.speaker;
    this.sendLog.add({
      name: s.name,
      userId: s.userId,
      ssrc: s.ssrc,
      sequence: frame.sequence,
      timestamp: frame.timestamp,
      silence: frame.silence,
      marker: frame.marker,
      dueAt: frame.dueAt,
      delayMs,
      sentAt,
      dropped: reason !== undefined,
      reason,
      recipients,
      opus: frame.opus,
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    for (const s of this.#speakers.values()) {
      s.markLeft();
      s.emit('passEnd', s);
    }
  }
}

function info(s: Speaker): SpeakerInfo {
  return { name: s.name, userId: s.userId, ssrc: s.ssrc, status: s.status, durationMs: s.durationMs };
}
