/**
 * Everything received in one voice session: ssrc → speaker, the relay branch (on arrival, never
 * decoded) and the PCM branch (per-speaker jitter buffers drained by {@link ReceiveSession.tick}).
 * Networking hands it decrypted packets; it never touches sockets.
 */
import type { OpusRelay, RelayPacket } from './relay.ts';
import { SpeakerStream, type PcmFrame, type SpeakerSnapshot, type SpeakerStreamOptions } from './speaker-stream.ts';

export interface ReceiveSessionOptions {
  /** Options for each speaker's stream. */
  speaker: Partial<SpeakerStreamOptions>;
  /** A speaker silent this long loses its Opus decoder (recreated on the next packet), in ms. */
  decoderIdleMs: number;
  /** Whether to run the PCM branch at all (the relay branch always runs). */
  pcm: boolean;
}

export const defaultReceiveSessionOptions: ReceiveSessionOptions = { speaker: {}, decoderIdleMs: 60_000, pcm: true };

export interface ReceiveCounters {
  packets: number;
  unmapped: number;
  relayErrors: number;
  malformed: number;
  decryptErrors: number;
}

export interface DecryptedPacket {
  ssrc: number;
  seq: number;
  timestamp: number;
  opus: Uint8Array;
}

export class ReceiveSession {
  readonly options: ReceiveSessionOptions;
  readonly counters: ReceiveCounters = { packets: 0, unmapped: 0, relayErrors: 0, malformed: 0, decryptErrors: 0 };
  readonly speakers = new Map<number, SpeakerStream>();
  private readonly relays = new Set<OpusRelay>();
  private readonly resolveUser: (ssrc: number) => string | undefined;
  private readonly onFrame: (frame: PcmFrame) => void;
  /**
   * Which users' streams are decoded to PCM (someone consumes them); undefined = every one. Asked on
   * each packet (keep it a cheap lookup); a stream switched off keeps its statistics and relay.
   */
  demand: ((userId: string) => boolean) | undefined;
  /** Told when a speaker's next frame falls due after a packet (a {@link PlayoutTimer} wakes on it). */
  onDue: ((dueNs: bigint) => void) | undefined;
  private readonly idleNs: bigint;
  private readonly relayPacket: RelayPacket = { ssrc: 0, userId: '', seq: 0, timestamp: 0, arrivalNs: 0n, opus: new Uint8Array(0) };

  constructor(
    resolveUser: (ssrc: number) => string | undefined,
    onFrame: (frame: PcmFrame) => void,
    options: Partial<ReceiveSessionOptions> = {},
  ) {
    this.resolveUser = resolveUser;
    this.onFrame = onFrame;
    this.options = { ...defaultReceiveSessionOptions, ...options };
    this.idleNs = BigInt(this.options.decoderIdleMs) * 1_000_000n;
  }

  /** Registers a relay sink; returns a function that removes it. */
  addRelay(relay: OpusRelay): () => void {
    this.relays.add(relay);
    return () => this.relays.delete(relay);
  }

  /** One decrypted packet: relay first (no buffering), then the PCM branch. */
  onPacket(packet: DecryptedPacket, arrivalNs: bigint): void {
    this.counters.packets++;
    const userId = this.resolveUser(packet.ssrc);
    if (userId === undefined) {
      this.counters.unmapped++;
      return;
    }
    if (this.relays.size > 0) {
      const r = this.relayPacket;
      r.ssrc = packet.ssrc;
      r.userId = userId;
      r.seq = packet.seq;
      r.timestamp = packet.timestamp;
      r.arrivalNs = arrivalNs;
      r.opus = packet.opus;
      for (const relay of this.relays) {
        try {
          relay.relay(r);
        } catch {
          this.counters.relayErrors++;
        }
      }
    }
    if (!this.options.pcm) return;
    const s = this.speaker(packet.ssrc, userId);
    if (this.demand) s.setDecoded(this.demand(userId));
    s.onPacket(packet.seq, packet.timestamp, packet.opus, arrivalNs);
    if (this.onDue) {
      const due = s.buffer.nextDueNs();
      if (due !== undefined) this.onDue(due);
    }
  }

  /** A packet that failed to decrypt: counted on its speaker (when known), the stream goes on. */
  onDecryptError(ssrc: number | undefined): void {
    this.counters.decryptErrors++;
    if (ssrc === undefined) return;
    const s = this.speakers.get(ssrc);
    if (s) s.decryptErrors++;
  }

  onMalformed(): void {
    this.counters.malformed++;
  }

  /** Drains every speaker's jitter buffer up to `nowNs`; returns when the next frame falls due (undefined: none buffered). */
  tick(nowNs: bigint): bigint | undefined {
    let next: bigint | undefined;
    for (const s of this.speakers.values()) {
      s.pull(nowNs, this.onFrame);
      const due = s.buffer.nextDueNs();
      if (due !== undefined) {
        if (next === undefined || due < next) next = due;
      } else if (nowNs - s.stats.lastArrival > this.idleNs) s.releaseDecoder();
    }
    return next;
  }

  /** A user left (op 13) or the ssrc was reassigned: its stream ends. */
  removeSsrc(ssrc: number): void {
    this.speakers.get(ssrc)?.close();
    this.speakers.delete(ssrc);
  }

  /** Frames held across every speaker's jitter buffer. */
  get queueDepth(): number {
    let n = 0;
    for (const s of this.speakers.values()) n += s.buffer.depth;
    return n;
  }

  snapshot(): SpeakerSnapshot[] {
    return [...this.speakers.values()].map((s) => s.snapshot());
  }

  close(): void {
    for (const s of this.speakers.values()) s.close();
    this.speakers.clear();
    this.relays.clear();
  }

  private speaker(ssrc: number, userId: string): SpeakerStream {
    let s = this.speakers.get(ssrc);
    if (!s) {
      s = new SpeakerStream(ssrc, userId, this.options.speaker);
      this.speakers.set(ssrc, s);
    } else if (s.userId !== userId) {
      s.userId = userId;
    }
    return s;
  }
}
