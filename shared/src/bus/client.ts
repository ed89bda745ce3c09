/**
 * Bus client for Node (22+) and browsers, over `globalThis.WebSocket`. Publishes envelopes (text, or
 * binary frames when there are attachments), subscribes with NATS wildcards, reconnects with
 * backoff and resubscribes, and keeps a bounded drop-oldest queue while disconnected.
 */
import type { Envelope } from '../envelope.ts';
import { parseEnvelope } from '../envelope.ts';
import { InvalidStateError, PrometheanError } from '../errors.ts';
import { decodeFrame, encodeFrame } from '../frame.ts';
import type { PayloadOf } from '../schemas/index.ts';
import { isTopicPattern, matchTokens } from '../topics.ts';
import { TypedEmitter } from './emitter.ts';
import { defaultBusClientOptions, type BusClientOptions } from './options.ts';

export type BusClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';
export type BusHandler = (envelope: Envelope, attachments: Uint8Array[]) => void;
export type ErrorEnvelope = Envelope<'error'> & { payload: PayloadOf<'error'> };

/** The unsubscribe function returned by subscribe(); `ready` settles on the hub's ack. */
export type Subscription = (() => void) & { ready: Promise<void> };

export type BusClientEvents = {
  stateChange: [oldState: BusClientState, newState: BusClientState];
  /** An `error` envelope arrived (the hub rejected something this client sent, or a peer's error). */
  error: [envelope: ErrorEnvelope];
  /** An incoming message could not be decoded or validated; it was dropped and counted. */
  invalid: [error: PrometheanError];
  /** A subscription handler threw. */
  handlerError: [error: unknown, envelope: Envelope];
};

export interface BusClientStats {
  sent: number;
  received: number;
  /** Messages waiting to be sent until the connection is open. */
  queued: number;
  /** Messages dropped from the send queue (oldest first) while disconnected. */
  dropped: number;
  invalid: number;
  reconnects: number;
}

interface PatternEntry {
  tokens: string[];
  handlers: Set<BusHandler>;
  waiters: { resolve(): void; reject(e: Error): void }[];
}

export class BusClient extends TypedEmitter<BusClientEvents> {
  readonly options: BusClientOptions;
  readonly stats: BusClientStats = { sent: 0, received: 0, queued: 0, dropped: 0, invalid: 0, reconnects: 0 };
  #state: BusClientState = 'idle';
  #ws: WebSocket | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #attempt = 0;
  #refSeq = 0;
  readonly #queue: (string | Uint8Array)[] = [];
  readonly #patterns = new Map<string, PatternEntry>();
  /** ref → pattern awaiting its ack. */
  readonly #pendingAcks = new Map<string, string>();

  constructor(options: Partial<BusClientOptions> & Pick<BusClientOptions, 'url' | 'token'>) {
    super();
    this.options = { ...defaultBusClientOptions, ...options };
  }

  get state(): BusClientState {
    return this.#state;
  }

  #setState(next: BusClientState): void {
    const old = this.#state;
    if (old === next) return;
    this.#state = next;
    this.emit('stateChange', old, next);
  }

  /** Opens the connection; resolves once it is open (retrying with backoff), rejects if closed first. */
  connect(): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(new InvalidStateError('BusClient is closed'));
    if (this.#state === 'idle') this.#open();
    return this.entersState('open');
  }

  /** Resolves when the client reaches `target`; rejects on close (unless the target) or timeout. */
  entersState(target: BusClientState, timeoutMs?: number): Promise<void> {
    if (this.#state === target) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => done(new InvalidStateError(`did not reach "${target}" within ${timeoutMs} ms`)), timeoutMs);
      const onChange = (_old: BusClientState, next: BusClientState): void => {
        if (next === target) done();
        else if (next === 'closed') done(new InvalidStateError(`closed before reaching "${target}"`));
      };
      const done = (error?: Error): void => {
        if (timer) clearTimeout(timer);
        this.off('stateChange', onChange);
        if (error) reject(error);
        else resolve();
      };
      this.on('stateChange', onChange);
    });
  }

  /**
   * Bytes handed to the open socket that it has not yet written (the WebSocket's `bufferedAmount`);
   * 0 while not connected (then {@link BusClientStats.queued} counts what waits). A publisher of
   * media reads it to notice a hub that is not keeping up and to drop instead of growing memory.
   */
  get bufferedAmount(): number {
    const ws = this.#ws;
    return this.#state === 'open' && ws ? ws.bufferedAmount : 0;
  }

  /**
   * Sends a frame that is already encoded (a JSON envelope string, or a binary frame as
   * `encodeFrame` lays it out), for hot paths that build frames themselves. Queued (bounded) while
   * not open, like {@link publish}; the hub validates it like any other.
   */
  publishEncoded(frame: string | Uint8Array): void {
    if (this.#state === 'closed') throw new InvalidStateError('BusClient is closed');
    this.#send(frame, true);
  }

  /** Sends an envelope; with attachments as one binary frame. Queued (bounded) while not open. */
  publish(envelope: Envelope | object, attachments?: readonly Uint8Array[]): void {
    if (this.#state === 'closed') throw new InvalidStateError('BusClient is closed');
    const data = attachments && attachments.length > 0 ? encodeFrame(envelope, attachments) : JSON.stringify(envelope);
    this.#send(data, true);
  }

  /** Subscribes `handler` to a NATS-style pattern; returns the unsubscribe function. */
  subscribe(pattern: string, handler: BusHandler): Subscription {
    if (this.#state === 'closed') throw new InvalidStateError('BusClient is closed');
    if (!isTopicPattern(pattern)) throw new PrometheanError('bad_topic', `"${pattern}" is not a topic pattern`);
    let entry = this.#patterns.get(pattern);
    const fresh = !entry;
    if (!entry) {
      entry = { tokens: pattern.split('.'), handlers: new Set(), waiters: [] };
      this.#patterns.set(pattern, entry);
    }
    entry.handlers.add(handler);
    const e = entry;
    const ready = fresh
      ? new Promise<void>((resolve, reject) => e.waiters.push({ resolve, reject }))
      : e.waiters.length > 0
        ? new Promise<void>((resolve, reject) => e.waiters.push({ resolve, reject }))
        : Promise.resolve();
    ready.catch(() => undefined);
    if (fresh && this.#state === 'open') this.#sendSubscribe(pattern);
    const unsubscribe = (): void => {
      if (!e.handlers.delete(handler) || e.handlers.size > 0 || this.#patterns.get(pattern) !== e) return;
      this.#patterns.delete(pattern);
      for (const w of e.waiters.splice(0)) w.reject(new InvalidStateError(`unsubscribed from "${pattern}"`));
      if (this.#state === 'open') this.#send(JSON.stringify({ op: 'unsubscribe', pattern }), false);
    };
    return Object.assign(unsubscribe, { ready });
  }

  /** Closes the connection and stops reconnecting (idempotent). */
  close(): void {
    if (this.#state === 'closed') return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const ws = this.#ws;
    this.#ws = undefined;
    if (ws) {
      this.#detach(ws);
      try {
        ws.close(1000, 'client closing');
      } catch {
        /* already closing */
      }
    }
    this.#queue.length = 0;
    this.stats.queued = 0;
    for (const entry of this.#patterns.values()) {
      for (const w of entry.waiters.splice(0)) w.reject(new InvalidStateError('BusClient closed'));
    }
    this.#pendingAcks.clear();
    this.#setState('closed');
  }

  #open(): void {
    const Ctor = this.options.WebSocket ?? globalThis.WebSocket;
    if (!Ctor) throw new InvalidStateError('no WebSocket implementation (Node 22+ or a browser is needed, or pass options.WebSocket)');
    this.#setState(this.#attempt === 0 && this.stats.reconnects === 0 ? 'connecting' : 'reconnecting');
    // Relative URLs (`/bus`) resolve against the page in browsers; http(s) becomes ws(s).
    const url = new URL(this.options.url, (globalThis as { location?: { href: string } }).location?.href);
    if (url.protocol === 'http:' || url.protocol === 'https:') url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws: WebSocket;
    try {
      // The key travels in the Authorization header, never in the URL (where proxies and logs keep
      // it). Node's WebSocket takes headers; a browser has none to set and signs in with its cookie.
      ws = this.options.token
        ? new (Ctor as unknown as new (url: string, init: { headers: Record<string, string> }) => WebSocket)(url.toString(), { headers: { authorization: `Bearer ${this.options.token}` } })
        : new Ctor(url.toString());
    } catch (cause) {
      this.#scheduleReconnect();
      void cause;
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.#ws = ws;
    ws.onopen = () => {
      this.#attempt = 0;
      this.#pendingAcks.clear();
      for (const pattern of this.#patterns.keys()) this.#sendSubscribe(pattern, ws);
      this.#setState('open');
      const queued = this.#queue.splice(0);
      this.stats.queued = 0;
      for (const data of queued) this.#send(data, true);
    };
    ws.onmessage = (ev: MessageEvent) => this.#onMessage(ev.data as string | ArrayBuffer);
    ws.onerror = () => undefined;
    ws.onclose = (ev: CloseEvent) => {
      this.#detach(ws);
      if (this.#ws !== ws) return;
      this.#ws = undefined;
      if (ev.code === 4008) this.#attempt = 0; // slow-consumer disconnect: come back at once
      this.#scheduleReconnect();
    };
  }

  #detach(ws: WebSocket): void {
    ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
  }

  #scheduleReconnect(): void {
    if (!this.options.reconnect) {
      this.close();
      return;
    }
    this.#setState('reconnecting');
    const o = this.options;
    const base = Math.min(o.maxBackoffMs, o.initialBackoffMs * o.backoffFactor ** this.#attempt);
    const delay = base * (1 + o.jitter * (Math.random() * 2 - 1));
    this.#attempt++;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.stats.reconnects++;
      this.#open();
    }, delay);
  }

  /** Sends a subscribe op; `ws` is passed while (re)subscribing from onopen, before the state is open. */
  #sendSubscribe(pattern: string, ws?: WebSocket): void {
    const ref = `s${++this.#refSeq}`;
    this.#pendingAcks.set(ref, pattern);
    const op = JSON.stringify({ op: 'subscribe', pattern, ref });
    if (ws) ws.send(op);
    else this.#send(op, false);
  }

  #send(data: string | Uint8Array, queueable: boolean): void {
    const ws = this.#ws;
    if (this.#state === 'open' && ws && ws.readyState === 1) {
      ws.send(data as string | Uint8Array<ArrayBuffer>);
      this.stats.sent++;
      return;
    }
    if (!queueable) return; // control ops are re-sent on (re)connect
    if (this.#queue.length >= this.options.maxQueued) {
      this.#queue.shift();
      this.stats.dropped++;
    }
    this.#queue.push(data);
    this.stats.queued = this.#queue.length;
  }

  #onMessage(data: string | ArrayBuffer): void {
    let envelope: Envelope;
    let attachments: Uint8Array[] = [];
    try {
      if (typeof data === 'string') {
        const raw: unknown = JSON.parse(data);
        if (typeof raw === 'object' && raw !== null && (raw as { op?: unknown }).op === 'ack') {
          this.#onAck((raw as { ref?: unknown }).ref);
          return;
        }
        envelope = parseEnvelope(raw);
      } else {
        const frame = decodeFrame(new Uint8Array(data));
        envelope = parseEnvelope(frame.header);
        attachments = frame.attachments;
      }
    } catch (cause) {
      this.stats.invalid++;
      const error = cause instanceof PrometheanError ? cause : new PrometheanError('malformed_json', `bad message from hub: ${(cause as Error).message}`, { cause });
      this.emit('invalid', error);
      return;
    }
    this.stats.received++;
    if (envelope.intent === 'error') this.#onError(envelope as ErrorEnvelope);
    const subject = envelope.dst.split('.');
    for (const entry of this.#patterns.values()) {
      if (!matchTokens(entry.tokens, subject)) continue;
      for (const handler of entry.handlers) {
        try {
          handler(envelope, attachments);
        } catch (error) {
          this.emit('handlerError', error, envelope);
        }
      }
    }
  }

  #onAck(ref: unknown): void {
    if (typeof ref !== 'string') return;
    const pattern = this.#pendingAcks.get(ref);
    this.#pendingAcks.delete(ref);
    const entry = pattern === undefined ? undefined : this.#patterns.get(pattern);
    if (entry) for (const w of entry.waiters.splice(0)) w.resolve();
  }

  #onError(envelope: ErrorEnvelope): void {
    const ref = envelope.payload.ref_id;
    const pattern = ref === undefined ? undefined : this.#pendingAcks.get(ref);
    if (ref !== undefined && pattern !== undefined) {
      this.#pendingAcks.delete(ref);
      const entry = this.#patterns.get(pattern);
      if (entry) {
        this.#patterns.delete(pattern);
        const error = new PrometheanError(envelope.payload.code, envelope.payload.message);
        for (const w of entry.waiters.splice(0)) w.reject(error);
      }
    }
    this.emit('error', envelope);
  }
}
