/**
 * The voice UDP socket: IP discovery, keep-alives, client RTP in; encrypted speaker RTP out.
 * Honours the `drop UDP for N ms` fault in both directions.
 */
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { buildIpDiscoveryResponse, isIpDiscovery, isKeepAlive, parseIpDiscovery } from '@promethean/shared/providers/discord';

export interface UdpCounters {
  datagramsIn: number;
  datagramsOut: number;
  discoveries: number;
  keepAlives: number;
  /** Datagrams that were neither discovery, keep-alive nor RTP. */
  malformedIn: number;
  /** Datagrams dropped (both directions) while a drop fault was active. */
  faultDropped: number;
}

export interface UdpEvents {
  discovery: [ssrc: number, remote: RemoteInfo];
  rtp: [packet: Buffer, remote: RemoteInfo];
  error: [error: Error];
}

export class VoiceUdp extends EventEmitter<UdpEvents> {
  readonly counters: UdpCounters = { datagramsIn: 0, datagramsOut: 0, discoveries: 0, keepAlives: 0, malformedIn: 0, faultDropped: 0 };
  #socket: Socket;
  #blockedUntil = 0;
  #closed = false;

  private constructor(socket: Socket) {
    super();
    this.#socket = socket;
    socket.on('message', (msg, remote) => this.#onMessage(msg, remote));
    socket.on('error', (error) => this.emit('error', error));
  }

  static async open(host: string, port: number): Promise<VoiceUdp> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new VoiceUdp(socket);
  }

  get port(): number {
    return this.#socket.address().port;
  }

  /** Drops every datagram in and out until `ms` from now. */
  blockFor(ms: number): void {
    this.#blockedUntil = Math.max(this.#blockedUntil, Date.now() + ms);
  }

  get blocked(): boolean {
    return Date.now() < this.#blockedUntil;
  }

  /** Sends one datagram; returns false when it was dropped by a fault or the socket is closed. */
  send(packet: Uint8Array, port: number, address: string): boolean {
    if (this.#closed) return false;
    if (this.blocked) {
      this.counters.faultDropped++;
      return false;
    }
    this.counters.datagramsOut++;
    this.#socket.send(packet, port, address);
    return true;
  }

  #onMessage(msg: Buffer, remote: RemoteInfo): void {
    if (this.blocked) {
      this.counters.faultDropped++;
      return;
    }
    this.counters.datagramsIn++;
    if (isIpDiscovery(msg)) {
      const request = parseIpDiscovery(msg);
      if (request.type !== 1) {
        this.counters.malformedIn++;
        return;
      }
      this.counters.discoveries++;
      this.send(buildIpDiscoveryResponse(request.ssrc, remote.address, remote.port), remote.port, remote.address);
      this.emit('discovery', request.ssrc, remote);
      return;
    }
    if (isKeepAlive(msg)) {
      this.counters.keepAlives++;
      this.send(msg, remote.port, remote.address);
      return;
    }
    if (msg.length >= 12 && msg[0] !== undefined && msg[0] >> 6 === 2) {
      this.emit('rtp', msg, remote);
      return;
    }
    this.counters.malformedIn++;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#socket.close();
    } catch {
      // already closed
    }
  }
}
