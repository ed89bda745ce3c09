/**
 * The RTP ingest: one UDP socket for every producer of the Sfu, demultiplexed by ssrc. A datagram
 * that is not RTP, carries an unknown ssrc or the wrong payload type is counted and dropped; nothing
 * on this path throws.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { parseRtp } from '../../rtp-header.ts';
import type { SfuIngestStats } from '../../types.ts';
import type { ProducerSource } from './producer-source.ts';

export class RtpIngest {
  readonly stats: SfuIngestStats = { packets: 0, bytes: 0, unknownSsrc: 0, malformed: 0, rtcp: 0, wrongPayloadType: 0 };
  /** Told when a producer's `deliver` throws (werift); the packet is dropped, the ingest goes on. */
  onError: (error: unknown) => void = () => undefined;
  readonly #bySsrc = new Map<number, ProducerSource>();
  #socket: Socket | undefined;

  /** Binds the socket; resolves with the bound port. */
  async bind(address: string, port: number): Promise<number> {
    const socket = createSocket({ type: isIP(address) === 6 ? 'udp6' : 'udp4' });
    this.#socket = socket;
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', (error) => this.onError(error));
    socket.on('message', (data) => this.#onDatagram(data));
    return socket.address().port;
  }

  /** The producer that owns `ssrc`, if any. */
  owner(ssrc: number): ProducerSource | undefined {
    return this.#bySsrc.get(ssrc);
  }

  add(source: ProducerSource): void {
    this.#bySsrc.set(source.ssrc, source);
  }

  remove(source: ProducerSource): void {
    if (this.#bySsrc.get(source.ssrc) === source) this.#bySsrc.delete(source.ssrc);
  }

  close(): void {
    this.#bySsrc.clear();
    const socket = this.#socket;
    this.#socket = undefined;
    try {
      socket?.close();
    } catch {
      // already closed
    }
  }

  #onDatagram(data: Buffer): void {
    const parsed = parseRtp(data);
    if (parsed.kind === 'malformed') {
      this.stats.malformed++;
      return;
    }
    if (parsed.kind === 'rtcp') {
      this.stats.rtcp++;
      return;
    }
    const source = this.#bySsrc.get(parsed.header.ssrc);
    if (!source) {
      this.stats.unknownSsrc++;
      return;
    }
    if (source.payloadType !== null && source.payloadType !== parsed.header.payloadType) {
      this.stats.wrongPayloadType++;
      return;
    }
    this.stats.packets++;
    this.stats.bytes += data.length;
    try {
      source.deliver(data, parsed.header);
    } catch (error) {
      this.onError(error);
    }
  }
}
