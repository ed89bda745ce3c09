/**
 * One subscriber connection. Deliveries go straight to the socket while its buffered bytes stay
 * under the high-water mark; beyond it they wait in two bounded queues:
 * - media (high-rate audio, see isMediaIntent): drop-oldest, counted;
 * - control (everything else, acks and errors): never dropped; when full the subscriber is
 *   disconnected with close code 4008 so it can reconnect and resubscribe.
 * Queues drain from the socket's write callbacks, so one slow subscriber never stalls the others.
 * Within each class order is kept; control drains before media.
 *
 * Writes are batched: the first send in a tick corks the TCP socket and a microtask uncorks it, so
 * every delivery produced while one incoming chunk is processed leaves in one `writev`. A published
 * message comes already framed (ws-frame.ts, built once for all its subscribers) and is written to
 * the socket as is; the hub's own replies (acks, errors) go through `ws.send`. Both write to the
 * socket synchronously, so their order is kept.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { EnvelopeShapeCache } from '@promethean/shared';
import type { Principal } from './auth.ts';
import type { ConnectionMetrics, HubCounters } from './metrics.ts';
import type { HubOptions } from './options.ts';
import { Fifo } from './queue.ts';
import { TokenBucket } from './rate.ts';
import type { encodeServerFrame } from './ws-frame.ts';

export const CLOSE_SLOW_CONSUMER = 4008;

interface Pending {
  data: Buffer | string;
  binary: boolean;
  /** `data` as a complete WebSocket frame, when the dispatcher built one. */
  frame: Buffer | undefined;
}

const TEXT = { binary: false } as const;
/** WebSocket.OPEN. */
const OPEN = 1;
const BINARY = { binary: true } as const;

export class HubConnection {
  readonly id: number;
  readonly principal: Principal;
  /** Whether the principal is limited to a guild or channel (deliveries are then filtered). */
  readonly scoped: boolean;
  readonly patterns = new Set<string>();
  /** Shapes of this sender's recent envelopes (a few), to accept look-alikes without parsing them again. */
  readonly shapes = new EnvelopeShapeCache();
  /** Message and byte buckets for a browser session's connection; undefined for agents. */
  readonly limits: { messages: TokenBucket; bytes: TokenBucket } | undefined;
  /** Frames refused by the limits, and when the last `rate_limited` error was sent. */
  limited = 0;
  lastLimitError = -Infinity;
  delivered = 0;
  dropped = 0;
  /** Whether a pong (or the connection itself) arrived since the last ping. */
  alive = true;
  #closed = false;
  readonly #ws: WebSocket;
  /** The socket under `#ws`: corked while a batch of sends is built, written prebuilt frames. Undefined = plain `ws.send`. */
  readonly #socket: Duplex | undefined;
  #corked = false;
  readonly #uncork = (): void => {
    this.#corked = false;
    this.#socket!.uncork();
  };
  readonly #options: HubOptions;
  readonly #counters: HubCounters;
  readonly #media = new Fifo<Pending>();
  readonly #control = new Fifo<Pending>();
  readonly #afterSend = (err?: Error | null): void => {
    if (!err && this.#media.length + this.#control.length > 0) this.#drain();
  };

  constructor(id: number, ws: WebSocket, principal: Principal, options: HubOptions, counters: HubCounters, socket?: Duplex) {
    this.id = id;
    this.#ws = ws;
    this.#socket = socket;
    this.principal = principal;
    this.scoped = principal.guild !== undefined || principal.channel !== undefined;
    const l = options.sessionLimits;
    this.limits = principal.role === 'agent' ? undefined : { messages: new TokenBucket(l.messagesPerS, l.messageBurst), bytes: new TokenBucket(l.bytesPerS, l.byteBurst) };
    this.#options = options;
    this.#counters = counters;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get queueDepth(): number {
    return this.#media.length + this.#control.length;
  }

  /**
   * Hands one message to this subscriber (direct, queued, dropped-oldest, or disconnect). `frame`,
   * when given, is `data` already framed by {@link encodeServerFrame}.
   */
  deliver(data: Buffer | string, binary: boolean, media: boolean, frame?: Buffer): void {
    if (this.#closed) return;
    const ws = this.#ws;
    if (this.#media.length + this.#control.length === 0 && ws.bufferedAmount < this.#options.socketHighWaterBytes) {
      this.#send(data, binary, frame);
      return;
    }
    if (media) {
      if (this.#media.length >= this.#options.mediaQueueMax) {
        this.#media.shift();
        this.dropped++;
        this.#counters.dropped++;
      }
      this.#media.push({ data, binary, frame });
    } else {
      if (this.#control.length >= this.#options.controlQueueMax) {
        this.#disconnectSlow();
        return;
      }
      this.#control.push({ data, binary, frame });
    }
    const depth = this.#media.length + this.#control.length;
    if (depth > this.#counters.maxQueueDepth) this.#counters.maxQueueDepth = depth;
  }

  /** Closes the socket (idempotent); the hub's close handler forgets the connection. */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#media.clear();
    this.#control.clear();
    try {
      this.#ws.close(code, reason);
    } catch {
      this.#ws.terminate();
    }
  }

  /** Pings the peer; terminates it when the previous ping got no answer. Returns false when dropped. */
  heartbeat(): boolean {
    if (this.#closed) return true;
    if (!this.alive) {
      this.markClosed();
      this.#ws.terminate();
      return false;
    }
    this.alive = false;
    try {
      this.#ws.ping();
    } catch {
      /* closing */
    }
    return true;
  }

  /** Marks the connection gone after the socket closed by itself. */
  markClosed(): void {
    this.#closed = true;
    this.#media.clear();
    this.#control.clear();
  }

  snapshot(): ConnectionMetrics {
    return {
      id: this.id,
      role: this.principal.role,
      tenant: this.principal.tenant,
      subscriptions: this.patterns.size,
      queue_depth: this.queueDepth,
      buffered_bytes: this.#ws.bufferedAmount,
      delivered: this.delivered,
      dropped: this.dropped,
    };
  }

  #send(data: Buffer | string, binary: boolean, frame: Buffer | undefined): void {
    this.delivered++;
    this.#counters.delivered++;
    const socket = this.#socket;
    if (socket === undefined) {
      this.#ws.send(data, binary ? BINARY : TEXT, this.#afterSend);
      return;
    }
    if (!this.#corked) {
      this.#corked = true;
      socket.cork();
      queueMicrotask(this.#uncork);
    }
    if (frame === undefined) this.#ws.send(data, binary ? BINARY : TEXT, this.#afterSend);
    // Like ws.send on a closing socket: nothing is written after the close frame.
    else if (this.#ws.readyState === OPEN) socket.write(frame, this.#afterSend);
  }

  #drain(): void {
    const ws = this.#ws;
    const high = this.#options.socketHighWaterBytes;
    while (!this.#closed && ws.readyState === ws.OPEN && ws.bufferedAmount < high) {
      const next = this.#control.shift() ?? this.#media.shift();
      if (!next) return;
      this.#send(next.data, next.binary, next.frame);
    }
  }

  #disconnectSlow(): void {
    this.#counters.slowDisconnects++;
    this.close(CLOSE_SLOW_CONSUMER, 'slow consumer: control queue full; reconnect and resubscribe');
  }
}
