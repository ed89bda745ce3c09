/**
 * Playback into the channel: a queue of 20 ms Opus packets (given as Opus, or as 48 kHz stereo PCM
 * frames that are encoded here) sent on a drift-free 20 ms schedule. Speaking (op 5) goes on with the
 * first packet of a talk-spurt; after the queue runs dry, five `F8 FF FE` frames end the spurt and
 * Speaking goes off. The sink is an interface; @discordjs/voice's VoiceConnection satisfies it.
 */
import { OversizeOpusPacketError } from '../util/errors.ts';
import { OpusEncoder, OPUS_FRAME_SAMPLES } from './opus-native.ts';
import { opusPacketSizeProblem } from './opus-packet.ts';

export interface OpusSink {
  /** Encrypts and sends one Opus packet (and marks the connection as speaking). */
  playOpusPacket(packet: Buffer): unknown;
  setSpeaking(speaking: boolean): unknown;
}

export interface OpusSenderOptions {
  /** Most packets queued; older ones are dropped beyond it (counted). 3000 = 60 s. */
  capacity: number;
  /** Encoder bitrate for PCM input, bits per second. */
  bitrate: number;
  /** Silence frames after a talk-spurt. */
  trailingSilenceFrames: number;
  /** Frame period in ms. */
  frameMs: number;
  /**
   * When the timer fires this many ms behind schedule (the event loop stalled), the schedule restarts
   * from now instead of sending the missed frames back to back (a burst Discord's jitter buffers drop).
   */
  resyncAfterMs: number;
  /** Milliseconds on a monotonic clock (tests pass their own). */
  now: () => number;
}

export const defaultOpusSenderOptions: OpusSenderOptions = { capacity: 3000, bitrate: 64000, trailingSilenceFrames: 5, frameMs: 20, resyncAfterMs: 40, now: () => performance.now() };

const SILENCE = Buffer.from([0xf8, 0xff, 0xfe]);

export interface OpusSenderCounters {
  sent: number;
  dropped: number;
  spurts: number;
  encodeErrors: number;
  /** Packets refused by pushOpus (over the Opus size limits or malformed). */
  rejected: number;
  /** Sends the sink threw on (counted; the clock goes on). */
  sendErrors: number;
  /** Times the schedule restarted after a stall instead of bursting. */
  resyncs: number;
}

export class OpusSender {
  readonly options: OpusSenderOptions;
  readonly counters: OpusSenderCounters = { sent: 0, dropped: 0, spurts: 0, encodeErrors: 0, rejected: 0, sendErrors: 0, resyncs: 0 };
  private readonly queue: Buffer[] = [];
  private sink: OpusSink | undefined;
  private encoder: OpusEncoder | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private nextAt = 0;
  private silenceLeft = 0;
  private speaking = false;
  private closed = false;

  constructor(sink: OpusSink | undefined, options: Partial<OpusSenderOptions> = {}) {
    this.options = { ...defaultOpusSenderOptions, ...options };
    this.sink = sink;
  }

  /** Swaps the sink (after a reconnect); undefined pauses sending while keeping the queue. */
  setSink(sink: OpusSink | undefined): void {
    this.sink = sink;
  }

  get queued(): number {
    return this.queue.length;
  }

  get isSpeaking(): boolean {
    return this.speaking;
  }

  setBitrate(bitrate: number): void {
    this.options.bitrate = bitrate;
    this.encoder?.setBitrate(bitrate);
  }

  /**
   * Queues one Opus packet (20 ms, 48 kHz). Throws {@link OversizeOpusPacketError} (and counts it in
   * `rejected`) for a packet over the Opus limits: 1275 bytes per frame (RFC 6716 §3.2.1).
   */
  pushOpus(packet: Uint8Array): void {
    if (this.closed) return;
    const problem = opusPacketSizeProblem(packet);
    if (problem) {
      this.counters.rejected++;
      throw new OversizeOpusPacketError(packet.byteLength, `voice.play.opus: ${problem}`);
    }
    this.queue.push(Buffer.from(packet));
    this.trim();
    this.start();
  }

  /** Queues one 20 ms frame of 48 kHz stereo s16 PCM (1920 samples), encoded here. */
  pushPcm(stereo: Int16Array): void {
    if (this.closed) return;
    if (stereo.length !== OPUS_FRAME_SAMPLES * 2) throw new RangeError(`PCM frame of ${stereo.length} samples is not 1920 (20 ms stereo)`);
    this.encoder ??= new OpusEncoder({ channels: 2, bitrate: this.options.bitrate });
    try {
      this.pushOpus(this.encoder.encode(stereo));
    } catch {
      this.counters.encodeErrors++;
    }
  }

  /** Drops what is queued (a new play request pre-empting, or leave). */
  flush(): void {
    this.queue.length = 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
    if (this.speaking) this.sink?.setSpeaking(false);
    this.encoder?.close();
  }

  private trim(): void {
    while (this.queue.length > this.options.capacity) {
      this.queue.shift();
      this.counters.dropped++;
    }
  }

  private start(): void {
    if (this.timer) return;
    this.nextAt = this.options.now();
    this.tick();
  }

  private tick = (): void => {
    this.timer = undefined;
    if (this.closed) return;
    try {
      this.step();
    } catch {
      // A throwing sink (or anything below it) must not end playback or the process: count it and
      // keep the clock; the next frame goes out on time.
      this.counters.sendErrors++;
      this.schedule();
    }
  };

  /** One 20 ms slot: a queued packet, a trailing silence frame, or idle (the clock stops). */
  private step(): void {
    const packet = this.queue.shift();
    if (packet) {
      if (!this.speaking) {
        this.speaking = true;
        this.counters.spurts++;
        this.sink?.setSpeaking(true);
      }
      this.silenceLeft = this.options.trailingSilenceFrames;
      this.send(packet);
    } else if (this.silenceLeft > 0) {
      this.silenceLeft--;
      this.send(SILENCE);
      if (this.silenceLeft === 0) {
        this.speaking = false;
        this.sink?.setSpeaking(false);
      }
    } else {
      return; // idle: the next push restarts the clock
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.closed || this.timer) return;
    const now = this.options.now();
    if (now - this.nextAt > this.options.resyncAfterMs) {
      // this slot ran later than the tolerance (a stalled event loop): the schedule restarts from now
      this.nextAt = now;
      this.counters.resyncs++;
    }
    this.nextAt += this.options.frameMs;
    this.timer = setTimeout(this.tick, Math.max(0, this.nextAt - now));
  }

  private send(packet: Buffer): void {
    if (!this.sink) return;
    try {
      this.sink.playOpusPacket(packet);
      this.counters.sent++;
    } catch {
      this.counters.sendErrors++;
    }
  }
}
