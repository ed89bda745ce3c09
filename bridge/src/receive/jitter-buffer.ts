/**
 * A per-speaker playout buffer for the PCM branch (the relay branch never waits on it). Packets are
 * ordered by extended sequence number; each talk-spurt is anchored at its first packet's arrival plus
 * the playout delay, and a frame is released when its playout time has come. A gap becomes FEC (from
 * the next packet, when it carries in-band FEC) or PLC, for at most `maxConcealFrames` in a row; after
 * a talk-spurt ends (Discord's `F8 FF FE` frames or no packets) nothing more is emitted.
 *
 * Pure: the caller passes the clock (`nowNs`), so tests and benchmarks drive it deterministically.
 */
import { isOpusSilenceFrame, opusHasLbrr, opusPacketSamples } from '../audio/opus-packet.ts';

export interface JitterBufferOptions {
  /** Playout delay after a talk-spurt's first packet, in ms. */
  playoutDelayMs: number;
  /** Most consecutive frames concealed (FEC or PLC) before the speaker is treated as silent. */
  maxConcealFrames: number;
  /**
   * Most packets held; beyond this the oldest are dropped (counted in `overflowed`). Sized for a
   * multi-second stall of this process: packets queued in the socket meanwhile arrive all at once,
   * are already due, and are released in order on the next pull instead of being thrown away.
   */
  capacity: number;
  /** RTP clock rate in Hz. */
  clockRate: number;
  /**
   * A new talk-spurt keeps the stream's media clock (stamps and schedule) when its first packet lands
   * within this many ms of where that clock puts it; otherwise it is re-anchored at its arrival.
   */
  reanchorToleranceMs: number;
  /**
   * Adaptive ceiling of the playout delay, in ms (`playoutDelayMs` is the floor). A packet that
   * arrives after its frame was concealed raises the delay at once by how late it was (plus 10 ms), so
   * the next stall of the same size loses nothing; each talk-spurt without a late packet gives back a
   * quarter of the extra delay. Equal to `playoutDelayMs`: a fixed delay.
   */
  maxPlayoutDelayMs: number;
}

export const defaultJitterBufferOptions: JitterBufferOptions = {
  playoutDelayMs: 60,
  maxConcealFrames: 5,
  capacity: 500,
  clockRate: 48000,
  reanchorToleranceMs: 300,
  maxPlayoutDelayMs: 250,
};

export interface BufferedPacket {
  extSeq: number;
  seq: number;
  timestamp: number;
  arrivalNs: bigint;
  opus: Uint8Array;
}

/** What the buffer releases, in order. `fec` carries the *next* packet whose FEC data recovers this one. */
export type PlayoutFrame =
  | { kind: 'packet'; seq: number; timestamp: number; captureNs: bigint; packet: BufferedPacket }
  | { kind: 'fec'; seq: number; timestamp: number; captureNs: bigint; next: BufferedPacket; samples: number }
  | { kind: 'plc'; seq: number; timestamp: number; captureNs: bigint; samples: number };

export interface JitterBufferCounters {
  late: number;
  duplicates: number;
  overflowed: number;
  fec: number;
  plc: number;
  silenceFrames: number;
  spurts: number;
}

export class JitterBuffer {
  readonly options: JitterBufferOptions;
  readonly counters: JitterBufferCounters = { late: 0, duplicates: 0, overflowed: 0, fec: 0, plc: 0, silenceFrames: 0, spurts: 0 };
  /** Held packets, sorted by extSeq ascending. */
  private readonly held: BufferedPacket[] = [];
  private active = false;
  /** Next extended sequence to release. */
  private nextExt = 0;
  /** Timestamp (unwrapped relative to the anchor) and capture time of the next frame. */
  private nextTsOffset = 0;
  private anchorTs = 0;
  private anchorNs = 0n;
  /**
   * Playout reference: the earliest (arrival − media offset) seen in this spurt. A first packet that
   * arrived late would otherwise delay the whole spurt; stamps keep `anchorNs` so they stay evenly spaced.
   */
  private dueAnchorNs = 0n;
  private lastSamples = 960;
  private concealedRun = 0;
  /** Highest extSeq released or dropped, so late packets are recognised after a spurt ends. */
  private releasedExt = -1;
  private readonly delayNs: bigint;
  /** Adaptive delay on top of `delayNs` (0 … maxPlayoutDelayMs − playoutDelayMs). */
  private extraNs = 0n;
  private readonly maxExtraNs: bigint;
  /** Whether a packet of the current spurt came too late (no decay at the next spurt). */
  private lateInSpurt = false;
  private readonly toleranceNs: bigint;
  private anchored = false;
  /** Whether the current spurt has released a frame yet (until then a reordered earlier packet re-opens it). */
  private spurtReleased = false;

  constructor(options: Partial<JitterBufferOptions> = {}) {
    this.options = { ...defaultJitterBufferOptions, ...options };
    this.delayNs = BigInt(Math.round(this.options.playoutDelayMs * 1e6));
    this.toleranceNs = BigInt(Math.round(this.options.reanchorToleranceMs * 1e6));
    const extraMs = Math.max(0, this.options.maxPlayoutDelayMs - this.options.playoutDelayMs);
    this.maxExtraNs = BigInt(Math.round(extraMs * 1e6));
  }

  /** The playout delay in force now (the floor plus what late packets added), in ms. */
  get playoutDelayMs(): number {
    return Number(this.delayNs + this.extraNs) / 1e6;
  }

  get depth(): number {
    return this.held.length;
  }

  get speaking(): boolean {
    return this.active;
  }

  /** Adds a packet; returns false when it was dropped (late or duplicate). */
  push(packet: BufferedPacket): boolean {
    if (packet.extSeq <= this.releasedExt) {
      this.counters.late++;
      this.adaptTo(packet);
      return false;
    }
    let i = this.held.length;
    while (i > 0 && this.held[i - 1]!.extSeq > packet.extSeq) i--;
    if (i > 0 && this.held[i - 1]!.extSeq === packet.extSeq) {
      this.counters.duplicates++;
      return false;
    }
    if (this.active && packet.extSeq < this.nextExt) {
      // Reordered ahead of the packet that opened this spurt (e.g. seq n+1 arrived before n). While
      // nothing of the spurt has been released the spurt re-opens at it; otherwise its turn is gone.
      if (!this.spurtReleased) {
        this.held.splice(i, 0, packet);
        this.reopenAt(packet);
        return true;
      }
      this.counters.late++;
      this.adaptTo(packet);
      return false;
    }
    this.held.splice(i, 0, packet);
    if (!this.active) this.startSpurt();
    const offset = tsDelta(packet.timestamp, this.anchorTs);
    if (offset >= 0) {
      const reference = packet.arrivalNs - this.samplesToNs(offset);
      if (reference < this.dueAnchorNs) this.dueAnchorNs = reference;
    }
    while (this.held.length > this.options.capacity) {
      // too far behind: skip ahead to the oldest packet kept
      const dropped = this.held.shift()!;
      this.counters.overflowed++;
      this.releasedExt = Math.max(this.releasedExt, dropped.extSeq);
      this.rebase(this.held[0]!);
    }
    return true;
  }

  /** Releases every frame whose playout time is ≤ `nowNs`. */
  pull(nowNs: bigint, out: PlayoutFrame[] = []): PlayoutFrame[] {
    while (this.active) {
      const captureNs = this.captureNs(this.nextTsOffset);
      if (this.dueAnchorNs + this.samplesToNs(this.nextTsOffset) + this.delayNs + this.extraNs > nowNs) break;
      let head = this.held[0];
      while (head && head.extSeq < this.nextExt) {
        // behind the release point (never expected after push's check): drop it rather than stall on it
        this.held.shift();
        this.counters.late++;
        head = this.held[0];
      }
      const timestamp = (this.anchorTs + this.nextTsOffset) >>> 0;
      const seq = this.nextExt & 0xffff;
      if (head && head.extSeq === this.nextExt) {
        this.held.shift();
        this.advance(head.extSeq, opusPacketSamples(head.opus) ?? this.lastSamples);
        if (isOpusSilenceFrame(head.opus)) {
          this.counters.silenceFrames++;
          this.concealedRun = this.options.maxConcealFrames; // a silence frame ends the spurt unless audio follows
          if (this.held.length === 0) this.endSpurt();
          continue;
        }
        this.concealedRun = 0;
        this.spurtReleased = true;
        out.push({ kind: 'packet', seq, timestamp, captureNs, packet: head });
        continue;
      }
      if (this.concealedRun >= this.options.maxConcealFrames) {
        if (!head) {
          this.endSpurt();
          break;
        }
        // a long gap with packets waiting: a new talk-spurt anchored at the next held packet
        this.releasedExt = Math.max(this.releasedExt, head.extSeq - 1);
        this.startSpurt();
        continue;
      }
      const samples = this.lastSamples;
      this.concealedRun++;
      this.spurtReleased = true;
      if (head && head.extSeq === this.nextExt + 1 && opusHasLbrr(head.opus)) {
        this.counters.fec++;
        out.push({ kind: 'fec', seq, timestamp, captureNs, next: head, samples });
      } else {
        this.counters.plc++;
        out.push({ kind: 'plc', seq, timestamp, captureNs, samples });
      }
      this.advance(this.nextExt, samples);
    }
    return out;
  }

  /** The monotonic time at which the next frame will be due, or undefined when idle. */
  nextDueNs(): bigint | undefined {
    return this.active ? this.dueAnchorNs + this.samplesToNs(this.nextTsOffset) + this.delayNs + this.extraNs : undefined;
  }

  /** Drops everything held and forgets the media clock (a restarted stream). */
  clear(): void {
    this.held.length = 0;
    this.active = false;
    this.anchored = false;
    this.releasedExt = -1;
  }

  /**
   * An earlier packet of the current spurt arrived before anything was released: the spurt opens at
   * it instead. Its media offset goes back by the timestamp difference; the schedule reference takes
   * the earlier of the two (arrival − media offset), so the frames already due stay due.
   */
  private reopenAt(packet: BufferedPacket): void {
    const back = tsDelta(packet.timestamp, (this.anchorTs + this.nextTsOffset) >>> 0);
    this.nextExt = packet.extSeq;
    if (back < 0 && this.nextTsOffset + back >= 0) this.nextTsOffset += back;
    else if (back < 0) {
      // before the anchor itself: move the anchor (stamps) back with it
      this.anchorTs = packet.timestamp;
      this.anchorNs -= this.samplesToNs(-back - this.nextTsOffset);
      this.dueAnchorNs -= this.samplesToNs(-back - this.nextTsOffset);
      this.nextTsOffset = 0;
    }
    const reference = packet.arrivalNs - this.samplesToNs(this.nextTsOffset);
    if (reference < this.dueAnchorNs) this.dueAnchorNs = reference;
  }

  private startSpurt(): void {
    const first = this.held[0]!;
    // give back a quarter of the extra delay after a spurt with nothing late (never mid-spurt, where a
    // shorter delay would make frames already scheduled due at once)
    if (!this.lateInSpurt && this.extraNs > 0n) this.extraNs = this.extraNs < 1_000_000n ? 0n : this.extraNs - this.extraNs / 4n;
    this.lateInSpurt = false;
    this.active = true;
    this.spurtReleased = false;
    this.counters.spurts++;
    this.concealedRun = 0;
    this.nextExt = first.extSeq;
    if (this.anchored) {
      // Same stream: keep its media clock when the new spurt's timestamp agrees with real time.
      const offset = tsDelta(first.timestamp, this.anchorTs);
      const implied = this.anchorNs + this.samplesToNs(offset);
      const off = implied > first.arrivalNs ? implied - first.arrivalNs : first.arrivalNs - implied;
      if (offset >= this.nextTsOffset && off <= this.toleranceNs) {
        this.nextTsOffset = offset;
        // the schedule follows this spurt's own earliest arrivals (path delay may have changed)
        this.dueAnchorNs = first.arrivalNs - this.samplesToNs(offset);
        return;
      }
    }
    this.anchored = true;
    this.anchorTs = first.timestamp;
    this.anchorNs = first.arrivalNs;
    this.dueAnchorNs = first.arrivalNs;
    this.nextTsOffset = 0;
  }

  private endSpurt(): void {
    this.active = false;
    if (this.held.length > 0) this.startSpurt();
  }

  /**
   * A packet came after its frame was released (concealed or skipped): raise the delay by how late it
   * was, so a stall of the same size does not cost the next frames. Only for the current media clock
   * (a packet from before a re-anchor says nothing about this schedule).
   */
  private adaptTo(packet: BufferedPacket): void {
    if (!this.anchored || this.maxExtraNs === 0n) return;
    const offset = tsDelta(packet.timestamp, this.anchorTs);
    if (offset < 0 || offset > this.options.clockRate * 60) return;
    const lateNs = packet.arrivalNs - (this.dueAnchorNs + this.samplesToNs(offset) + this.delayNs + this.extraNs);
    if (lateNs <= 0n) return;
    this.lateInSpurt = true;
    const raised = this.extraNs + lateNs + 10_000_000n;
    this.extraNs = raised > this.maxExtraNs ? this.maxExtraNs : raised;
  }

  /** Jumps to a held packet; its media time follows from its timestamp relative to the anchor. */
  private skipTo(packet: BufferedPacket): void {
    this.releasedExt = Math.max(this.releasedExt, packet.extSeq - 1);
    this.nextExt = packet.extSeq;
    this.nextTsOffset = tsDelta(packet.timestamp, this.anchorTs);
    this.concealedRun = 0;
  }

  private rebase(packet: BufferedPacket): void {
    if (packet.extSeq > this.nextExt) this.skipTo(packet);
  }

  private advance(extSeq: number, samples: number): void {
    this.releasedExt = Math.max(this.releasedExt, extSeq);
    this.nextExt = extSeq + 1;
    this.nextTsOffset += samples;
    this.lastSamples = samples;
  }

  private captureNs(tsOffset: number): bigint {
    return this.anchorNs + this.samplesToNs(tsOffset);
  }

  private samplesToNs(samples: number): bigint {
    return BigInt(Math.round((samples * 1e9) / this.options.clockRate));
  }
}

/** Signed difference of two 32-bit RTP timestamps. */
export function tsDelta(a: number, b: number): number {
  let d = (a - b) >>> 0;
  if (d > 0x7fffffff) d -= 0x100000000;
  return d;
}
