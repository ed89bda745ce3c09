/**
 * Hands decoded frames to the bus without ever blocking receive: frames wait in a bounded queue and
 * are published while the bus's own backlog is below its bounds — messages queued while disconnected
 * and bytes the open socket has not yet written (a hub that reads slowly or not at all) — so the
 * bridge's memory stays bounded either way. When the bus lags the oldest frames are dropped and
 * counted (health turns DEGRADED).
 */
import { BUS_PCM_FORMAT, PrometheanError, type PayloadOf } from '@promethean/shared';
import { DropOldestQueue } from '../util/drop-oldest-queue.ts';
import type { PcmFrame } from '../receive/speaker-stream.ts';

export interface PcmPublisherOptions {
  /** Frames held while the bus lags (250 = 5 s of one speaker). */
  capacity: number;
  /** Publish only while the bus reports fewer queued messages (while disconnected) than this. */
  busHighWater: number;
  /**
   * Publish only while the bus's socket holds fewer unwritten bytes than this (1 MiB ≈ 500 frames,
   * 0.5 s of 20 speakers). Past it frames wait here and the oldest are dropped.
   */
  maxBufferedBytes: number;
}

export const defaultPcmPublisherOptions: PcmPublisherOptions = { capacity: 250, busHighWater: 500, maxBufferedBytes: 1 << 20 };

/** What the bus has not delivered yet. */
export interface BusBacklog {
  /** Messages queued while the connection is down. */
  queued: number;
  /** Bytes the open socket has accepted but not written. */
  bufferedBytes: number;
}

export type PcmSend = (payload: PayloadOf<'voice.audio.pcm'>, attachment: Uint8Array) => void;

export class PcmPublisher {
  readonly options: PcmPublisherOptions;
  published = 0;
  private readonly queue: DropOldestQueue<PcmFrame>;
  private readonly sessionId: string;
  private readonly send: PcmSend;
  private readonly backlog: () => BusBacklog;
  /** Whether the last drain stopped because the bus was over a bound (frames waiting here). */
  lagging = false;
  /** The bus's backlog as the last drain saw it. */
  lastBacklog: BusBacklog = { queued: 0, bufferedBytes: 0 };
  /** Per-speaker context attached to each frame's rtp info. */
  private readonly rtpExtra: (ssrc: number) => { lost: number; jitter: number } | undefined;

  constructor(
    sessionId: string,
    send: PcmSend,
    backlog: () => BusBacklog,
    rtpExtra: (ssrc: number) => { lost: number; jitter: number } | undefined,
    options: Partial<PcmPublisherOptions> = {},
  ) {
    this.options = { ...defaultPcmPublisherOptions, ...options };
    this.queue = new DropOldestQueue(this.options.capacity);
    this.sessionId = sessionId;
    this.send = send;
    this.backlog = backlog;
    this.rtpExtra = rtpExtra;
  }

  get depth(): number {
    return this.queue.length;
  }

  get dropped(): number {
    return this.queue.dropped;
  }

  /** Queues a frame (never blocks). */
  push(frame: PcmFrame): void {
    this.queue.push(frame);
  }

  /** Publishes queued frames while the bus keeps up. Returns how many went out. */
  drain(): number {
    let n = 0;
    const o = this.options;
    this.lagging = false;
    while (this.queue.length > 0) {
      const b = this.backlog();
      this.lastBacklog = b;
      if (b.queued >= o.busHighWater || b.bufferedBytes >= o.maxBufferedBytes) {
        this.lagging = true;
        break;
      }
      const f = this.queue.shift()!;
      const extra = this.rtpExtra(f.ssrc);
      const rtp: PayloadOf<'voice.audio.pcm'>['rtp'] = { ssrc: f.ssrc, seq: f.seq, timestamp: f.timestamp };
      if (extra) {
        rtp.lost = extra.lost;
        rtp.jitter = extra.jitter;
      }
      if (f.concealed) rtp.concealed = f.concealed;
      this.send(
        {
          session_id: this.sessionId,
          user_id: f.userId,
          ts_monotonic_ns: f.tsMonotonicNs.toString(),
          format: { rate_hz: BUS_PCM_FORMAT.rate_hz, channels: BUS_PCM_FORMAT.channels, codec: BUS_PCM_FORMAT.codec },
          rtp,
          attachment: 0,
        },
        pcmBytes(f.pcm),
      );
      n++;
    }
    this.published += n;
    return n;
  }

  clear(): void {
    this.queue.clear();
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** s16 samples as little-endian bytes (a view on little-endian hosts). */
export function pcmBytes(pcm: Int16Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  const out = new Uint8Array(pcm.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < pcm.length; i++) view.setInt16(2 * i, pcm[i]!, true);
  return out;
}

/** Little-endian s16 bytes as samples (copies when unaligned or on big-endian hosts). */
export function pcmSamples(bytes: Uint8Array): Int16Array {
  if (bytes.byteLength % 2 !== 0) throw new PrometheanError('bad_frame', `PCM s16 data of ${bytes.byteLength} bytes is not a whole number of samples`);
  if (LITTLE_ENDIAN && bytes.byteOffset % 2 === 0) return new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  const out = new Int16Array(bytes.byteLength / 2);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(2 * i, true);
  return out;
}
