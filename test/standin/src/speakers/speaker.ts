/**
 * A simulated speaker: plays 48 kHz stereo audio as Opus 20 ms frames on its own frame clock (with
 * optional drift), one talk-spurt per pass, five `F8 FF FE` silence frames after each, optional loop.
 * The RTP timestamp follows the speaker's clock through pauses, as real clients do.
 */
import { EventEmitter } from 'node:events';
import opus from '@discordjs/opus';
import { OPUS_SILENCE_FRAME, SAMPLES_PER_FRAME, SILENCE_FRAMES_AFTER_SPURT } from '@promethean/shared/providers/discord';
import { stereoFrameS16 } from '../audio/resample.ts';
import type { SpeakerHandle } from '../voice/extension.ts';
import type { Prng } from '../util/prng.ts';
import { Impairment } from './impairment.ts';
import type { ImpairmentOptions } from './impairment.ts';

export type SpeakerStatus = 'idle' | 'talking' | 'trailing' | 'pausing' | 'left';

export interface SpeakerFrame {
  speaker: Speaker;
  sequence: number;
  timestamp: number;
  marker: boolean;
  silence: boolean;
  opus: Uint8Array;
  levelDbov: number;
  /** When the frame was due on the stand-in clock (ms). */
  dueAt: number;
}

export interface SpeakerEvents {
  spurtStart: [speaker: Speaker];
  passEnd: [speaker: Speaker];
}

export interface PlayOptions {
  /** Play again after each pass until stop(). */
  loop: boolean;
  /** Pause between passes when looping, in audio ms (20 ms per frame slot, scaled like the frames). */
  pauseMs: number;
}

export class Speaker extends EventEmitter<SpeakerEvents> implements SpeakerHandle {
  readonly name: string;
  readonly userId: string;
  readonly ssrc: number;
  readonly impairment: Impairment;
  #status: SpeakerStatus = 'idle';
  readonly #left: Float32Array;
  readonly #right: Float32Array;
  readonly #encoder: InstanceType<typeof opus.OpusEncoder>;
  #sequence: number;
  readonly #timestamp0: number;
  /** Frame slot index on the speaker's clock (slot k is due at clockStart + k·frameMs). */
  #slot = 0;
  readonly #clockStart: number;
  readonly #frameMs: number;
  #offset = 0;
  #trailing = 0;
  #pauseSlots = 0;
  #marker = false;
  #play: PlayOptions = { loop: false, pauseMs: 0 };
  #stopRequested = false;

  constructor(args: {
    name: string;
    userId: string;
    ssrc: number;
    audio: [Float32Array, Float32Array];
    prng: Prng;
    impairment: ImpairmentOptions;
    bitrate: number;
    clockStart: number;
    /** Real ms per 20 ms frame of audio (20 = real time; smaller runs faster). */
    timeScale: number;
  }) {
    super();
    this.name = args.name;
    this.userId = args.userId;
    this.ssrc = args.ssrc;
    [this.#left, this.#right] = args.audio;
    this.#encoder = new opus.OpusEncoder(48_000, 2);
    this.#encoder.setBitrate(args.bitrate);
    this.#sequence = args.prng.int(0x10000);
    this.#timestamp0 = args.prng.uint32();
    this.impairment = new Impairment(args.impairment, args.prng.fork('impairment'));
    this.#clockStart = args.clockStart;
    this.#frameMs = 20 * args.timeScale * (1 + args.impairment.driftPpm / 1e6);
  }

  get status(): SpeakerStatus {
    return this.#status;
  }

  /** Duration of the speaker's audio in ms. */
  get durationMs(): number {
    return (this.#left.length / 48_000) * 1000;
  }

  get frameMs(): number {
    return this.#frameMs;
  }

  /** Starts a pass at the next frame slot (restarts from the top if already talking). */
  play(options: Partial<PlayOptions> = {}): void {
    if (this.#status === 'left') return;
    this.#play = { loop: options.loop ?? false, pauseMs: options.pauseMs ?? 1000 };
    this.#stopRequested = false;
    this.#startSpurt();
  }

  /** Ends the current talk-spurt (with its silence frames) and any looping. */
  stop(): void {
    this.#stopRequested = true;
    if (this.#status === 'talking') this.#beginTrailing();
    else if (this.#status === 'pausing') this.#status = 'idle';
  }

  markLeft(): void {
    this.#status = 'left';
  }

  #startSpurt(): void {
    this.#offset = 0;
    this.#status = 'talking';
    this.#marker = true;
    this.emit('spurtStart', this);
  }

  #beginTrailing(): void {
    this.#status = 'trailing';
    this.#trailing = SILENCE_FRAMES_AFTER_SPURT;
  }

  /** Produces every frame due up to `now` (stand-in clock, ms). */
  collect(now: number, out: SpeakerFrame[]): void {
    while (this.#clockStart + (this.#slot + 1) * this.#frameMs <= now) {
      this.#slot++;
      const dueAt = this.#clockStart + this.#slot * this.#frameMs;
      const timestamp = (this.#timestamp0 + this.#slot * SAMPLES_PER_FRAME) >>> 0;
      this.#step(dueAt, timestamp, out);
    }
  }

  #step(dueAt: number, timestamp: number, out: SpeakerFrame[]): void {
    switch (this.#status) {
      case 'talking': {
        const pcm = stereoFrameS16(this.#left, this.#right, this.#offset, SAMPLES_PER_FRAME);
        this.#offset += SAMPLES_PER_FRAME;
        const frame = this.#encoder.encode(pcm);
        out.push(this.#frame(new Uint8Array(frame), false, levelOf(pcm), dueAt, timestamp));
        if (this.#offset >= this.#left.length) this.#beginTrailing();
        return;
      }
      case 'trailing': {
        out.push(this.#frame(OPUS_SILENCE_FRAME, true, 127, dueAt, timestamp));
        this.#trailing--;
        if (this.#trailing > 0) return;
        this.emit('passEnd', this);
        if (this.#play.loop && !this.#stopRequested) {
          this.#status = 'pausing';
          this.#pauseSlots = Math.max(0, Math.round(this.#play.pauseMs / 20));
          if (this.#pauseSlots === 0) this.#startSpurt();
        } else {
          this.#status = 'idle';
        }
        return;
      }
      case 'pausing':
        if (--this.#pauseSlots <= 0) this.#startSpurt();
        return;
      default:
        return;
    }
  }

  #frame(opusFrame: Uint8Array, silence: boolean, levelDbov: number, dueAt: number, timestamp: number): SpeakerFrame {
    const marker = this.#marker;
    this.#marker = false;
    this.#sequence = (this.#sequence + 1) & 0xffff;
    return { speaker: this, sequence: this.#sequence, timestamp, marker, silence, opus: opusFrame, levelDbov, dueAt };
  }
}

/** RMS level of an s16 stereo frame in -dBov (0 = full scale, 127 = silence), as RFC 6464 expects. */
function levelOf(pcm: Buffer): number {
  let sum = 0;
  const n = pcm.length / 2;
  for (let i = 0; i < n; i++) {
    const v = pcm.readInt16LE(i * 2) / 32768;
    sum += v * v;
  }
  const rms = Math.sqrt(sum / n);
  return rms <= 0 ? 127 : Math.min(127, Math.max(0, Math.round(-20 * Math.log10(rms))));
}
