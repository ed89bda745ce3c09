/**
 * The relay branch's sender: each (session, user)'s decrypted Opus goes to the SFU ingest as plain RTP
 * over one UDP socket, the moment it arrives (no buffering; the browser's jitter buffer absorbs
 * jitter). Each stream gets a random ssrc, unique across everything this forwarder ever sent (as
 * long as it remembers: every open stream's, and the last `rememberSsrcs` closed ones), stable for
 * the stream's lifetime; headers are rewritten by {@link RtpStreamRewriter}; the payload is copied
 * byte for byte. Nothing here throws into the receive path: failures are counted.
 */
import { randomInt } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { hrtimeClock, type MonotonicClock } from '../receive/clock.ts';
import type { RelayPacket } from '../receive/relay.ts';
import { RtpStreamRewriter, type RtpStreamOptions } from './rtp-stream.ts';
import { SessionRelayImpl, type SessionRelay, type Stream, type StreamCloseReason, type StreamHost } from './session-relay.ts';

export type { SessionRelay, StreamCloseReason };

export interface RtpDestination {
  host: string;
  port: number;
}

/** A stream opened (sent before its first packet) or closed. */
export interface RtpStreamEvent {
  state: 'open' | 'closed';
  sessionId: string;
  userId: string;
  /** The outgoing ssrc (what the SFU producer must be created with). */
  ssrc: number;
  payloadType: number;
  /** Why a stream closed. */
  reason?: StreamCloseReason;
}

export interface RtpForwarderOptions {
  /** The SFU's RTP ingest (`Sfu.ingest`). A host name is resolved once, by `open()`. */
  destination: RtpDestination;
  /** Payload type written in every packet (Discord's Opus is 120). */
  payloadType: number;
  /** Monotonic clock for talk-spurt timing and idleness. */
  clock: MonotonicClock;
  /** Most streams open at once; one more evicts the stream silent the longest. */
  maxStreams: number;
  /** A stream silent this long (ms) is closed by the sweep; its speaker gets a new stream and ssrc next time. */
  idleTimeoutMs: number;
  /** How often the sweep runs (ms); 0: only when `sweep()` is called. */
  sweepIntervalMs: number;
  /** How many closed streams' ssrcs are remembered so that no new stream reuses them. */
  rememberSsrcs: number;
  /** Largest payload forwarded, in bytes (an Opus packet is at most 1275); larger ones are dropped and counted. */
  maxPayloadBytes: number;
  /** Header rewriting (talk-spurt gap, reorder window). */
  stream: Partial<RtpStreamOptions>;
  /** Told when a stream opens and closes (a throw is caught and counted). */
  onStream: (event: RtpStreamEvent) => void;
}

export const defaultRtpForwarderOptions: Omit<RtpForwarderOptions, 'destination'> = {
  payloadType: 120,
  clock: hrtimeClock,
  maxStreams: 1000,
  idleTimeoutMs: 5 * 60_000,
  sweepIntervalMs: 10_000,
  rememberSsrcs: 65_536,
  maxPayloadBytes: 1500,
  stream: {},
  onStream: () => undefined,
};

export interface RtpForwarderCounters {
  /** Packets handed to the socket. */
  packets: number;
  /** Bytes handed to the socket (RTP header included). */
  bytes: number;
  /** Packets forwarded behind the newest (reordered on the way in). */
  late: number;
  /** Duplicates and stragglers of a speaker's previous ssrc (dropped). */
  dropped: number;
  /** Payloads over `maxPayloadBytes` (dropped). */
  oversize: number;
  /** Packets relayed to a closed session handle (dropped). */
  afterClose: number;
  /** Sends the socket refused or that failed (ICMP unreachable, …). */
  sendErrors: number;
  /** Anything else that threw on the relay path, and `onStream` throws. */
  errors: number;
  streamsOpened: number;
  streamsClosed: number;
  /** Streams closed to make room under `maxStreams`. */
  evicted: number;
}

export class RtpForwarder {
  readonly options: RtpForwarderOptions;
  readonly counters: RtpForwarderCounters = {
    packets: 0, bytes: 0, late: 0, dropped: 0, oversize: 0, afterClose: 0, sendErrors: 0, errors: 0,
    streamsOpened: 0, streamsClosed: 0, evicted: 0,
  };
  readonly #socket: Socket;
  readonly #sessions = new Map<string, SessionRelayImpl>();
  readonly #activeSsrcs = new Set<number>();
  /** Closed streams' ssrcs, oldest first (a Set keeps insertion order). */
  readonly #retiredSsrcs = new Set<number>();
  readonly #sweepTimer: NodeJS.Timeout | undefined;
  /** What sessions may call back into. */
  readonly #host: StreamHost;
  #destination: RtpDestination;
  #streamCount = 0;
  #closed = false;

  /** Binds the socket (and resolves a host name); the forwarder is ready when this resolves. */
  static async open(options: Partial<RtpForwarderOptions> & Pick<RtpForwarderOptions, 'destination'>): Promise<RtpForwarder> {
    const { host, port } = options.destination;
    if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new RangeError(`destination.port must be a port number, not ${port}`);
    const pt = options.payloadType ?? defaultRtpForwarderOptions.payloadType;
    if (!Number.isInteger(pt) || pt < 0 || pt > 127) throw new RangeError(`payloadType must be 0–127, not ${pt}`);
    const address = isIP(host) ? host : (await lookup(host)).address;
    const socket = createSocket(isIP(address) === 6 ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new RtpForwarder({ ...options, destination: { host: address, port } }, socket);
  }

  private constructor(options: Partial<RtpForwarderOptions> & Pick<RtpForwarderOptions, 'destination'>, socket: Socket) {
    this.options = { ...defaultRtpForwarderOptions, ...options };
    this.#destination = { ...this.options.destination };
    this.#socket = socket;
    this.#host = {
      counters: this.counters,
      maxPayloadBytes: this.options.maxPayloadBytes,
      open: (sessionId, userId) => this.#openStream(sessionId, userId),
      send: (stream, packet) => this.#send(stream, packet),
      closed: (stream, reason) => this.#announce(stream, 'closed', reason),
      sessionClosed: (session) => {
        if (this.#sessions.get(session.sessionId) === session) this.#sessions.delete(session.sessionId);
      },
    };
    // Send failures come back in send()'s callback; anything else the socket reports is counted too.
    socket.on('error', () => this.counters.sendErrors++);
    if (this.options.sweepIntervalMs > 0) {
      this.#sweepTimer = setInterval(() => this.sweep(), this.options.sweepIntervalMs);
      this.#sweepTimer.unref();
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  get destination(): RtpDestination {
    return { ...this.#destination };
  }

  /** Points the socket at another ingest (a restarted SFU). Takes an IP address. */
  setDestination(destination: RtpDestination): void {
    if (!isIP(destination.host)) throw new RangeError(`setDestination takes an IP address, not ${destination.host}`);
    this.#destination = { ...destination };
  }

  /** The relay sink of one session (the same object while it is open). */
  forSession(sessionId: string): SessionRelay {
    let session = this.#sessions.get(sessionId);
    if (!session || session.closed) {
      session = new SessionRelayImpl(sessionId, this.#host);
      if (this.#closed) session.close();
      else this.#sessions.set(sessionId, session);
    }
    return session;
  }

  /** Every open stream. */
  streams(): Array<{ sessionId: string; userId: string; ssrc: number; payloadType: number }> {
    const out = [];
    for (const session of this.#sessions.values()) {
      for (const s of session.streams.values()) out.push({ sessionId: s.sessionId, userId: s.userId, ssrc: s.ssrc, payloadType: this.options.payloadType });
    }
    return out;
  }

  /** Closes streams silent for `idleTimeoutMs`; returns how many. */
  sweep(): number {
    const limit = BigInt(Math.round(this.options.idleTimeoutMs * 1e6));
    const now = this.options.clock.now();
    let closed = 0;
    for (const session of this.#sessions.values()) {
      for (const s of [...session.streams.values()]) {
        if (now - s.rewriter.lastArrivalNs >= limit) {
          session.endStream(s.userId, 'idle');
          closed++;
        }
      }
    }
    return closed;
  }

  /** Closes every session (their streams are reported closed) and the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#sweepTimer) clearInterval(this.#sweepTimer);
    for (const session of [...this.#sessions.values()]) session.close('forwarder-closed');
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }

  /** A new stream (random ssrc, sequence number and timestamp), announced before its first packet. */
  #openStream(sessionId: string, userId: string): Stream {
    if (this.#streamCount >= this.options.maxStreams) this.#evictOldest();
    const ssrc = this.#allocateSsrc();
    const rewriter = new RtpStreamRewriter(randomInt(0, 0x1_0000), randomInt(0, 0x1_0000_0000), this.options.stream);
    const stream = { sessionId, userId, ssrc, rewriter };
    this.#streamCount++;
    this.counters.streamsOpened++;
    this.#announce(stream, 'open');
    return stream;
  }

  #announce(stream: Stream, state: 'open' | 'closed', reason?: StreamCloseReason): void {
    if (state === 'closed') {
      this.#streamCount--;
      this.counters.streamsClosed++;
      this.#retire(stream.ssrc);
    }
    const event: RtpStreamEvent = { state, sessionId: stream.sessionId, userId: stream.userId, ssrc: stream.ssrc, payloadType: this.options.payloadType };
    if (reason) event.reason = reason;
    try {
      this.options.onStream(event);
    } catch {
      this.counters.errors++;
    }
  }

  /** Rewrites the header, copies the payload behind it, hands the datagram to the socket. */
  #send(stream: Stream, packet: RelayPacket): void {
    const header = stream.rewriter.next(packet.ssrc, packet.seq, packet.timestamp, this.options.clock.now());
    if (!header) {
      this.counters.dropped++;
      return;
    }
    if (header.kind === 'late') this.counters.late++;
    const opus = packet.opus;
    const out = Buffer.allocUnsafe(12 + opus.length);
    out[0] = 0x80;
    out[1] = (header.marker ? 0x80 : 0) | (this.options.payloadType & 0x7f);
    out.writeUInt16BE(header.sequenceNumber, 2);
    out.writeUInt32BE(header.timestamp, 4);
    out.writeUInt32BE(stream.ssrc, 8);
    out.set(opus, 12);
    this.counters.packets++;
    this.counters.bytes += out.length;
    this.#socket.send(out, this.#destination.port, this.#destination.host, (error) => {
      if (error) this.counters.sendErrors++;
    });
  }

  #evictOldest(): void {
    let oldest: { session: SessionRelayImpl; stream: Stream } | undefined;
    for (const session of this.#sessions.values()) {
      for (const stream of session.streams.values()) {
        if (!oldest || stream.rewriter.lastArrivalNs < oldest.stream.rewriter.lastArrivalNs) oldest = { session, stream };
      }
    }
    if (!oldest) return;
    this.counters.evicted++;
    oldest.session.endStream(oldest.stream.userId, 'evicted');
  }

  #allocateSsrc(): number {
    for (;;) {
      const ssrc = randomInt(1, 0x1_0000_0000);
      if (this.#activeSsrcs.has(ssrc) || this.#retiredSsrcs.has(ssrc)) continue;
      this.#activeSsrcs.add(ssrc);
      return ssrc;
    }
  }

  #retire(ssrc: number): void {
    this.#activeSsrcs.delete(ssrc);
    this.#retiredSsrcs.add(ssrc);
    while (this.#retiredSsrcs.size > this.options.rememberSsrcs) {
      const first = this.#retiredSsrcs.values().next().value;
      if (first === undefined) break;
      this.#retiredSsrcs.delete(first);
    }
  }
}
