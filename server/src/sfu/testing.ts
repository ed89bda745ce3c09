/**
 * What the SFU conformance suite needs from a driver's test side: a receiver (a WebRTC peer in the test
 * process that answers the SFU's offer and records what arrives per m-line), a plain-RTP sender for the
 * ingest, and a deadline-bounded wait. Not used in production.
 */
import { createSocket, type Socket } from 'node:dgram';
import { seededRandom } from '../../../test/support/prng.ts';
import type { SfuAnswer, SfuIngestAddress, SfuOffer } from './types.ts';

export interface ReceivedPacket {
  payload: Uint8Array;
  sequenceNumber: number;
  timestamp: number;
  marker: boolean;
}

/** A WebRTC peer that consumes a listener, as a browser would; `A`: the answers it gives. */
export interface SfuTestReceiver<A extends SfuAnswer = SfuAnswer> {
  /** Applies the SFU's offer; returns the answer for `listener.answer()` (ICE gathering completed). */
  accept(offer: SfuOffer): Promise<A>;
  /** Packets received so far on the m-line `mid`, in arrival order. */
  received(mid: string): ReceivedPacket[];
  /** The peer connection state (`connected` once media can flow). */
  readonly connectionState: string;
  /** Closes the peer connection. Idempotent. */
  close(): Promise<void>;
}

export type SfuReceiverFactory = () => Promise<SfuTestReceiver>;

/** Polls `condition` every 10 ms until it holds; rejects naming `what` after `timeoutMs`. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Opus-like payloads: a CELT fullband 20 ms TOC byte then pseudo-random bytes of a typical size, and
 * every tenth one Discord's three-byte silence frame. Deterministic and distinct per (ssrc, index), so
 * cross-talk and reordering show.
 */
export function opusLikePayload(ssrc: number, index: number): Uint8Array {
  if (index % 10 === 9) return Uint8Array.of(0xf8, 0xff, 0xfe);
  const random = seededRandom((ssrc ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const body = new Uint8Array(40 + (index % 7) * 13);
  for (let i = 0; i < body.length; i++) body[i] = Math.floor(random() * 256);
  body[0] = 0xfc;
  return body;
}

export interface SentPacket {
  ssrc: number;
  sequenceNumber: number;
  timestamp: number;
  marker: boolean;
  payloadType: number;
  payload: Uint8Array;
}

/** Builds a plain RTP packet (version 2, no CSRC, no extension, no padding). */
export function buildRtp(p: SentPacket): Buffer {
  const out = Buffer.alloc(12 + p.payload.length);
  out[0] = 0x80;
  out[1] = (p.marker ? 0x80 : 0) | (p.payloadType & 0x7f);
  out.writeUInt16BE(p.sequenceNumber & 0xffff, 2);
  out.writeUInt32BE(p.timestamp >>> 0, 4);
  out.writeUInt32BE(p.ssrc >>> 0, 8);
  out.set(p.payload, 12);
  return out;
}

/** Sends RTP (or anything) to the ingest from one UDP socket. */
export class RtpTestSender {
  readonly #socket: Socket;
  readonly #to: SfuIngestAddress;
  readonly #state = new Map<number, { seq: number; ts: number }>();

  private constructor(socket: Socket, to: SfuIngestAddress) {
    this.#socket = socket;
    this.#to = to;
  }

  static async open(to: SfuIngestAddress): Promise<RtpTestSender> {
    const socket = createSocket(to.host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve) => socket.bind(0, resolve));
    return new RtpTestSender(socket, to);
  }

  /** Sends `count` packets for `ssrc` (contiguous seq, 20 ms timestamps), one per `gapMs`; returns them. */
  async stream(ssrc: number, count: number, options: { payloadType?: number; gapMs?: number } = {}): Promise<SentPacket[]> {
    const sent: SentPacket[] = [];
    const state = this.#state.get(ssrc) ?? { seq: 1000 + (ssrc % 5000), ts: 960 * (ssrc % 1000) };
    for (let i = 0; i < count; i++) {
      const packet: SentPacket = {
        ssrc,
        sequenceNumber: state.seq & 0xffff,
        timestamp: state.ts >>> 0,
        marker: sent.length === 0,
        payloadType: options.payloadType ?? 120,
        payload: opusLikePayload(ssrc, state.seq),
      };
      state.seq++;
      state.ts += 960;
      await this.send(buildRtp(packet));
      sent.push(packet);
      if (options.gapMs) await new Promise((resolve) => setTimeout(resolve, options.gapMs));
    }
    this.#state.set(ssrc, state);
    return sent;
  }

  /** Sends one datagram. */
  send(datagram: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.#socket.send(datagram, this.#to.port, this.#to.host, (error) => (error ? reject(error) : resolve())));
  }

  close(): void {
    try {
      this.#socket.close();
    } catch {
      // already closed
    }
  }
}
