/** One session's streams, one per speaker: the relay sink `RtpForwarder.forSession()` hands out. */
import type { OpusRelay, RelayPacket } from '../receive/relay.ts';
import type { RtpStreamRewriter } from './rtp-stream.ts';

export type StreamCloseReason = 'idle' | 'evicted' | 'ended' | 'session-closed' | 'forwarder-closed';

/** One session's relay sink, for `ReceiveSession.addRelay()` / `VoiceSession.addRelay()`. */
export interface SessionRelay extends OpusRelay {
  readonly sessionId: string;
  readonly closed: boolean;
  /** Ends one speaker's stream now (they left); a later packet starts a new one with a new ssrc. */
  endStream(userId: string): void;
  /** Closes every stream of the session. Idempotent. */
  close(): void;
  /**
   * Where a speaker's input packet (Discord ssrc and RTP timestamp) went: the outgoing stream's ssrc
   * and the timestamp it was (or would be) sent with. `undefined` when the speaker has no stream or
   * no mapping covers it. For the clock anchor (`voice.relay.anchor`).
   */
  outgoing(userId: string, inSsrc: number, inTs: number): { ssrc: number; timestamp: number } | undefined;
}

/** One outgoing RTP stream: a (session, user) with its ssrc and header rewriting. */
export interface Stream {
  readonly sessionId: string;
  readonly userId: string;
  readonly ssrc: number;
  readonly rewriter: RtpStreamRewriter;
}

/** What a session needs from its forwarder. */
export interface StreamHost {
  readonly counters: { oversize: number; afterClose: number; errors: number };
  readonly maxPayloadBytes: number;
  /** A new stream, announced before this returns. */
  open(sessionId: string, userId: string): Stream;
  send(stream: Stream, packet: RelayPacket): void;
  /** The stream ended: announce it, free its ssrc. */
  closed(stream: Stream, reason: StreamCloseReason): void;
  sessionClosed(session: SessionRelayImpl): void;
}

export class SessionRelayImpl implements SessionRelay {
  readonly sessionId: string;
  /** userId → stream. */
  readonly streams = new Map<string, Stream>();
  readonly #host: StreamHost;
  #closed = false;

  constructor(sessionId: string, host: StreamHost) {
    this.sessionId = sessionId;
    this.#host = host;
  }

  get closed(): boolean {
    return this.#closed;
  }

  relay(packet: RelayPacket): void {
    const host = this.#host;
    try {
      if (this.#closed) {
        host.counters.afterClose++;
        return;
      }
      if (packet.opus.length > host.maxPayloadBytes) {
        host.counters.oversize++;
        return;
      }
      let stream = this.streams.get(packet.userId);
      if (!stream) {
        stream = host.open(this.sessionId, packet.userId);
        this.streams.set(packet.userId, stream);
      }
      host.send(stream, packet);
    } catch {
      host.counters.errors++;
    }
  }

  outgoing(userId: string, inSsrc: number, inTs: number): { ssrc: number; timestamp: number } | undefined {
    const stream = this.streams.get(userId);
    const timestamp = stream?.rewriter.outgoingTimestamp(inSsrc, inTs);
    return stream && timestamp !== undefined ? { ssrc: stream.ssrc, timestamp } : undefined;
  }

  endStream(userId: string, reason: StreamCloseReason = 'ended'): void {
    const stream = this.streams.get(userId);
    if (!stream) return;
    this.streams.delete(userId);
    this.#host.closed(stream, reason);
  }

  close(reason: StreamCloseReason = 'session-closed'): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const userId of [...this.streams.keys()]) this.endStream(userId, reason);
    this.#host.sessionClosed(this);
  }
}
