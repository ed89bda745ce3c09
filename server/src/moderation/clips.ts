/**
 * The last seconds of each speaker's PCM (`voice.audio.pcm`, the bus format: s16le mono 48 kHz,
 * 20 ms frames), so a flag can keep the audio of its span. Bounded: `keepMs` per stream, at most
 * `maxStreams` streams (the one silent longest is dropped first). It takes no PCM lease of its own:
 * transcripts exist only for speakers the STT worker leased, and those frames reach every subscriber.
 */
import type { NsSpan } from './span.ts';

export interface ClipAudio {
  /** s16le mono samples. */
  pcm: Uint8Array;
  rate_hz: number;
}

export interface ClipKey {
  provider: string;
  tenant: string;
  session_id: string;
  user_id: string;
}

/** Where a flag's clip audio comes from. */
export interface ClipSource {
  /** The audio of `span` (silence where frames are missing); undefined when nothing of it is held. */
  clip(key: ClipKey, span: NsSpan): ClipAudio | undefined;
}

export interface PcmClipRingOptions {
  /** Audio kept per stream, ms. */
  keepMs: number;
  /** Streams kept at most. */
  maxStreams: number;
}

export const defaultPcmClipRingOptions: PcmClipRingOptions = { keepMs: 20_000, maxStreams: 64 };

export const BUS_RATE_HZ = 48_000;
const FRAME_BYTES = 1920;
const FRAME_NS = 20_000_000n;

interface Stream {
  ts: bigint[];
  frames: Uint8Array[];
  /** Next slot to write. */
  next: number;
  filled: number;
  lastPush: number;
}

export interface PcmClipRingCounters {
  frames: number;
  /** Frames refused: not the bus format, or not 1,920 bytes. */
  refused: number;
  /** Streams dropped to stay within maxStreams. */
  evicted: number;
}

export class PcmClipRing implements ClipSource {
  readonly options: PcmClipRingOptions;
  readonly counters: PcmClipRingCounters = { frames: 0, refused: 0, evicted: 0 };
  readonly #streams = new Map<string, Stream>();
  readonly #capacity: number;

  constructor(options: Partial<PcmClipRingOptions> = {}) {
    this.options = { ...defaultPcmClipRingOptions, ...options };
    this.#capacity = Math.max(1, Math.ceil(this.options.keepMs / 20));
  }

  get streams(): number {
    return this.#streams.size;
  }

  /** Keeps one frame (copied). Returns false, counted, for a frame not in the bus format. */
  push(key: ClipKey, tsNs: string, rateHz: number, channels: number, bytes: Uint8Array | undefined): boolean {
    if (rateHz !== BUS_RATE_HZ || channels !== 1 || !bytes || bytes.byteLength !== FRAME_BYTES || !/^\d{1,20}$/.test(tsNs)) {
      this.counters.refused++;
      return false;
    }
    const k = `${key.provider}\u0000${key.tenant}\u0000${key.session_id}\u0000${key.user_id}`;
    let s = this.#streams.get(k);
    if (!s) {
      if (this.#streams.size >= this.options.maxStreams) this.#evict();
      s = { ts: new Array<bigint>(this.#capacity), frames: new Array<Uint8Array>(this.#capacity), next: 0, filled: 0, lastPush: 0 };
      this.#streams.set(k, s);
    }
    s.ts[s.next] = BigInt(tsNs);
    s.frames[s.next] = bytes.slice();
    s.next = (s.next + 1) % this.#capacity;
    s.filled = Math.min(this.#capacity, s.filled + 1);
    s.lastPush = performance.now();
    this.counters.frames++;
    return true;
  }

  clip(key: ClipKey, span: NsSpan): ClipAudio | undefined {
    const s = this.#streams.get(`${key.provider}\u0000${key.tenant}\u0000${key.session_id}\u0000${key.user_id}`);
    if (!s || span.end_ns <= span.start_ns) return undefined;
    const samples = Number(((span.end_ns - span.start_ns) * BigInt(BUS_RATE_HZ)) / 1_000_000_000n);
    if (samples === 0) return undefined;
    const out = new Int16Array(samples);
    let copied = 0;
    for (let i = 0; i < s.filled; i++) {
      const ts = s.ts[i]!;
      if (ts + FRAME_NS <= span.start_ns || ts >= span.end_ns) continue;
      const frame = s.frames[i]!;
      const src = new Int16Array(frame.buffer, frame.byteOffset, frame.byteLength / 2);
      // Sample offset of the frame's first sample in the clip (negative when it starts before the clip).
      const offset = Number(((ts - span.start_ns) * BigInt(BUS_RATE_HZ)) / 1_000_000_000n);
      for (let j = 0; j < src.length; j++) {
        const at = offset + j;
        if (at >= 0 && at < samples) out[at] = src[j]!;
      }
      copied++;
    }
    if (copied === 0) return undefined;
    return { pcm: new Uint8Array(out.buffer), rate_hz: BUS_RATE_HZ };
  }

  /** Forgets everything. */
  clear(): void {
    this.#streams.clear();
  }

  #evict(): void {
    let oldest: string | undefined;
    let at = Infinity;
    for (const [k, s] of this.#streams) {
      if (s.lastPush < at) {
        at = s.lastPush;
        oldest = k;
      }
    }
    if (oldest !== undefined) {
      this.#streams.delete(oldest);
      this.counters.evicted++;
    }
  }
}
