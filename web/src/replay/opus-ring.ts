/**
 * The last minutes of one speaker as the received Opus frames, in memory only. Pure and bounded:
 * frames older than `windowTicks` behind the newest are dropped, and so are the oldest ones while the
 * ring holds more than `maxFrames` frames or `maxBytes` bytes. Frames are kept in arrival order; a
 * late frame (reordered) is inserted at its place so a clip is always in timestamp order.
 */
import { OPUS_RTP_RATE } from './rtp-clock.ts';

export interface OpusRingOptions {
  /** How much audio is kept, in RTP ticks (48 kHz): 5 minutes by default. */
  windowTicks: number;
  /** At most this many frames (5 min of 20 ms frames plus slack). */
  maxFrames: number;
  /** At most this many payload bytes (5 min at 510 kb/s, Opus's ceiling, is ~19 MB). */
  maxBytes: number;
}

export const defaultOpusRingOptions: OpusRingOptions = {
  windowTicks: 5 * 60 * OPUS_RTP_RATE,
  maxFrames: 16_000,
  maxBytes: 8 * 1024 * 1024,
};

export interface OpusFrame {
  /** Unwrapped RTP timestamp (48 kHz ticks). */
  ticks: number;
  /** The Opus packet, byte for byte as received. */
  data: Uint8Array;
}

export class OpusRing {
  readonly options: OpusRingOptions;
  #frames: OpusFrame[] = [];
  /** Index of the first live frame in `#frames` (dropping from the front without shifting). */
  #head = 0;
  #bytes = 0;
  /** Frames dropped because a bound was hit (not counting those that aged out). */
  overflowed = 0;

  constructor(options: Partial<OpusRingOptions> = {}) {
    this.options = { ...defaultOpusRingOptions, ...options };
  }

  get size(): number {
    return this.#frames.length - this.#head;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The oldest and newest tick held, or undefined when empty. */
  span(): { first: number; last: number } | undefined {
    if (this.size === 0) return undefined;
    return { first: this.#frames[this.#head]!.ticks, last: this.#frames[this.#frames.length - 1]!.ticks };
  }

  /** Adds a frame; a duplicate timestamp (a retransmission) is ignored. */
  push(frame: OpusFrame): void {
    const frames = this.#frames;
    let i = frames.length;
    while (i > this.#head && frames[i - 1]!.ticks > frame.ticks) i--;
    if (i > this.#head && frames[i - 1]!.ticks === frame.ticks) return;
    const newest = i === frames.length ? frame.ticks : frames[frames.length - 1]!.ticks;
    if (newest - frame.ticks > this.options.windowTicks) return; // older than the window already
    if (i === frames.length) frames.push(frame);
    else frames.splice(i, 0, frame);
    this.#bytes += frame.data.byteLength;
    const oldest = newest - this.options.windowTicks;
    while (this.size > 0 && frames[this.#head]!.ticks < oldest) this.#dropFirst();
    while (this.size > 0 && (this.size > this.options.maxFrames || this.#bytes > this.options.maxBytes)) {
      this.#dropFirst();
      this.overflowed++;
    }
    // Compact now and then so the array does not grow without bound.
    if (this.#head > 4096 && this.#head > frames.length / 2) {
      this.#frames = frames.slice(this.#head);
      this.#head = 0;
    }
  }

  /** The frames with `from ≤ ticks < to`, in timestamp order (the same objects; do not change them). */
  range(from: number, to: number): OpusFrame[] {
    const frames = this.#frames;
    let lo = this.#head;
    let hi = frames.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (frames[mid]!.ticks < from) lo = mid + 1;
      else hi = mid;
    }
    const out: OpusFrame[] = [];
    for (let i = lo; i < frames.length && frames[i]!.ticks < to; i++) out.push(frames[i]!);
    return out;
  }

  clear(): void {
    this.#frames = [];
    this.#head = 0;
    this.#bytes = 0;
  }

  #dropFirst(): void {
    this.#bytes -= this.#frames[this.#head]!.data.byteLength;
    this.#head++;
  }
}
