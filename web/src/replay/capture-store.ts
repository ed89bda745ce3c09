/**
 * What the capture worker keeps per speaker: one {@link OpusRing} on one tick axis per speaker, and
 * that axis's session clock. Pure (no worker globals), so it is tested in Node.
 *
 * A speaker's frames can come from several RTP streams over time (a new SFU listener, a reconnect:
 * another ssrc with its own random timestamp base). Each stream is unwrapped on its own; the first
 * stream anchors the speaker's clock at its first frame's receive time, and every later stream is
 * placed on the same axis by its own first frame's receive time.
 */
import { OpusRing, type OpusRingOptions } from './opus-ring.ts';
import type { CaptureStats, ClipFrame } from './protocol.ts';
import { RtpUnwrapper, SessionClockMap, ticksNear } from './rtp-clock.ts';

export interface ReceivedFrame {
  user_id: string;
  ssrc: number;
  /** The 32-bit RTP timestamp. */
  rtp: number;
  /** Receive time on the session clock (epoch ns). */
  receive_ns: bigint;
  data: Uint8Array;
}

interface StreamState {
  unwrapper: RtpUnwrapper;
  offset: number;
}

interface Speaker {
  ring: OpusRing;
  clock: SessionClockMap;
  streams: Map<number, StreamState>;
  seen: number;
  lastRtp: number | null;
  newest: { ssrc: number; rtp: number; ticks: number } | null;
}

export interface CaptureStoreOptions {
  ring: Partial<OpusRingOptions>;
  /** At most this many speakers are kept; the one heard least recently goes first. */
  maxSpeakers: number;
  /** At most this many RTP streams per speaker are remembered. */
  maxStreams: number;
}

export const defaultCaptureStoreOptions: CaptureStoreOptions = { ring: {}, maxSpeakers: 64, maxStreams: 8 };

export class CaptureStore {
  readonly options: CaptureStoreOptions;
  readonly #speakers = new Map<string, Speaker>();
  /** Whether frames are kept (the guild's replay setting); frames are counted either way. */
  enabled = true;

  constructor(options: Partial<CaptureStoreOptions> = {}) {
    this.options = { ...defaultCaptureStoreOptions, ...options };
  }

  add(f: ReceivedFrame): void {
    const s = this.#speaker(f.user_id);
    s.seen++;
    s.lastRtp = f.rtp >>> 0;
    let stream = s.streams.get(f.ssrc);
    if (!stream) {
      if (s.streams.size >= this.options.maxStreams) s.streams.delete(s.streams.keys().next().value!);
      const unwrapper = new RtpUnwrapper();
      const first = unwrapper.unwrap(f.rtp);
      // The first stream defines the axis; later ones are placed by their receive time.
      const offset = s.clock.anchor ? s.clock.receiveTicks(f.receive_ns) - first : 0;
      stream = { unwrapper, offset };
      s.streams.set(f.ssrc, stream);
      if (!s.clock.anchor) s.clock.anchorAt(first, f.receive_ns, 'receive');
      s.newest = { ssrc: f.ssrc, rtp: f.rtp >>> 0, ticks: first + offset };
      if (this.enabled) s.ring.push({ ticks: first + offset, data: f.data });
      return;
    }
    const ticks = stream.unwrapper.unwrap(f.rtp) + stream.offset;
    if (!s.newest || s.newest.ssrc !== f.ssrc || ticks > s.newest.ticks) s.newest = { ssrc: f.ssrc, rtp: f.rtp >>> 0, ticks };
    if (this.enabled) s.ring.push({ ticks, data: f.data });
  }

  stats(): CaptureStats[] {
    return [...this.#speakers].map(([user_id, s]) => {
      const span = s.ring.span();
      return {
        user_id,
        frames: s.ring.size,
        bytes: s.ring.bytes,
        first_ns: span ? s.clock.toNs(span.first).toString() : null,
        last_ns: span ? s.clock.toNs(span.last).toString() : null,
        overflowed: s.ring.overflowed,
        clock: s.clock.anchor?.source ?? null,
        seen: s.seen,
        last_rtp: s.lastRtp,
        newest: s.newest ? { ssrc: s.newest.ssrc, rtp: s.newest.rtp, ns: s.clock.toNs(s.newest.ticks).toString() } : null,
      };
    });
  }

  /** The frames of `from_ns ≤ t < to_ns`, copied, with offsets from `from_ns` in ticks. */
  clip(userId: string, fromNs: bigint, toNs: bigint): { frames: ClipFrame[]; rate: number } {
    const s = this.#speakers.get(userId);
    if (!s || !s.clock.anchor) return { frames: [], rate: s?.clock.rate ?? 48_000 };
    const from = s.clock.toTicks(fromNs);
    const to = s.clock.toTicks(toNs);
    const frames = s.ring.range(from, to).map((f) => ({ offset: f.ticks - from, data: f.data.slice().buffer }));
    return { frames, rate: s.clock.rate };
  }

  /**
   * A relay anchor (`voice.relay.anchor`: an RTP timestamp as relayed, and its ns on the bridge's
   * clock) for a speaker: placed on the axis next to the newest frame received (the SFU keeps
   * timestamps), from then on the speaker's clock. False when the speaker has no frame yet or the
   * timestamp is over a minute from the newest frame's (another stream: the next anchor, a few
   * seconds later, will fit).
   */
  relayAnchor(userId: string, rtp: number, ns: bigint): boolean {
    const s = this.#speakers.get(userId);
    if (!s?.newest) return false;
    const ticks = ticksNear(s.newest, rtp);
    if (ticks === undefined) return false;
    s.clock.anchorAt(ticks, ns, 'relay');
    return true;
  }

  setEnabled(on: boolean): void {
    this.enabled = on;
    if (!on) for (const s of this.#speakers.values()) s.ring.clear();
  }

  forget(userId: string): void {
    this.#speakers.delete(userId);
  }

  #speaker(userId: string): Speaker {
    let s = this.#speakers.get(userId);
    if (s) {
      // Most recently heard last, so the first entry is the one to evict.
      this.#speakers.delete(userId);
      this.#speakers.set(userId, s);
      return s;
    }
    if (this.#speakers.size >= this.options.maxSpeakers) this.#speakers.delete(this.#speakers.keys().next().value!);
    s = { ring: new OpusRing(this.options.ring), clock: new SessionClockMap(), streams: new Map(), seen: 0, lastRtp: null, newest: null };
    this.#speakers.set(userId, s);
    return s;
  }
}
