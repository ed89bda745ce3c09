/**
 * The bus WebSocket (`/bus`), authenticated by the session cookie. Subscribes to topic patterns,
 * delivers JSON envelopes, reconnects with backoff and subscribes again after every reconnect.
 * Binary frames (audio attachments) are not for the console and are ignored.
 */
import { InvalidStateError } from '../errors.ts';
import { backoffDelay, defaultBackoffOptions, type BackoffOptions } from '../util/backoff.ts';
import { Emitter } from '../util/emitter.ts';

export type BusStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** The envelope fields the console reads; the rest passes through untouched. */
export interface BusEnvelope {
  id: string;
  ts: string;
  src: string;
  dst: string;
  provider: string;
  tenant: string;
  intent: string;
  payload: unknown;
}

export type BusEvents = {
  status: [status: BusStatus];
  envelope: [envelope: BusEnvelope];
  /** An `error` envelope (the hub refused a subscription, or a peer reported a failure). */
  error: [envelope: BusEnvelope];
};

export type WebSocketLike = Pick<WebSocket, 'send' | 'close' | 'readyState'> & {
  binaryType: BinaryType;
  onopen: ((ev: Event) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
  onerror: ((ev: Event) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
};

export interface BusConnectionOptions {
  /** Absolute ws(s) URL of the bus. */
  url: string;
  /** Reconnect delays. */
  backoff: BackoffOptions;
  /** Creates the socket; the browser's WebSocket by default. */
  createSocket: (url: string) => WebSocketLike;
}

export const defaultBusConnectionOptions: Omit<BusConnectionOptions, 'url'> = {
  backoff: { ...defaultBackoffOptions, initialMs: 250, maxMs: 5000 },
  createSocket: (url) => new WebSocket(url),
};

/** `ws(s)://<host>/bus` for the page at `href`. */
export function busUrl(href: string): string {
  const url = new URL('/bus', href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.hash = '';
  url.search = '';
  return url.toString();
}

/** `promethean.p.*.t.<tenant>.<intent>`; every tenant (`*`) when the session has none. */
export function intentPattern(tenant: string | null, intent: string): string {
  return `promethean.p.*.t.${tenant ?? '*'}.${intent}`;
}

export class BusConnection extends Emitter<BusEvents> {
  readonly options: BusConnectionOptions;
  #status: BusStatus = 'idle';
  #ws: WebSocketLike | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Failed connection attempts since the socket was last open. */
  #failures = 0;
  #ref = 0;
  readonly #patterns = new Set<string>();

  constructor(options: Partial<BusConnectionOptions> & Pick<BusConnectionOptions, 'url'>) {
    super();
    this.options = { ...defaultBusConnectionOptions, ...options };
  }

  get status(): BusStatus {
    return this.#status;
  }

  /** Consecutive attempts that closed before (or soon after) opening; 0 while open. */
  get failures(): number {
    return this.#failures;
  }

  /** Adds a pattern; sent now when open, and again after every reconnect. */
  subscribe(pattern: string): void {
    if (this.#status === 'closed') throw new InvalidStateError('bus connection is closed');
    if (this.#patterns.has(pattern)) return;
    this.#patterns.add(pattern);
    if (this.#status === 'open' && this.#ws) this.#sendSubscribe(this.#ws, pattern);
  }

  /** Sends one envelope (a text frame) when open; false when not connected (the caller keeps it or drops it). */
  publish(envelope: object): boolean {
    if (this.#status !== 'open' || !this.#ws) return false;
    this.#ws.send(JSON.stringify(envelope));
    return true;
  }

  connect(): void {
    if (this.#status === 'closed') throw new InvalidStateError('bus connection is closed');
    if (this.#status === 'idle') this.#open();
  }

  /** Stops for good (idempotent). */
  close(): void {
    if (this.#status === 'closed') return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const ws = this.#ws;
    this.#ws = undefined;
    if (ws) {
      detach(ws);
      try {
        ws.close(1000, 'console closing');
      } catch {
        /* already closing */
      }
    }
    this.#setStatus('closed');
  }

  #setStatus(next: BusStatus): void {
    if (this.#status === next) return;
    this.#status = next;
    this.emit('status', next);
  }

  #open(): void {
    this.#setStatus(this.#failures === 0 && this.#status === 'idle' ? 'connecting' : 'reconnecting');
    let ws: WebSocketLike;
    try {
      ws = this.options.createSocket(this.options.url);
    } catch {
      this.#failures++;
      this.#scheduleReconnect();
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.#ws = ws;
    ws.onopen = () => {
      this.#failures = 0;
      for (const pattern of this.#patterns) this.#sendSubscribe(ws, pattern);
      this.#setStatus('open');
    };
    ws.onmessage = (ev) => this.#onMessage(ev.data);
    ws.onerror = () => undefined;
    ws.onclose = () => {
      detach(ws);
      if (this.#ws !== ws) return;
      this.#ws = undefined;
      this.#failures++;
      this.#scheduleReconnect();
    };
  }

  #scheduleReconnect(): void {
    if (this.#status === 'closed') return;
    this.#setStatus('reconnecting');
    const delay = backoffDelay(this.#failures - 1, this.options.backoff);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#open();
    }, delay);
  }

  #sendSubscribe(ws: WebSocketLike, pattern: string): void {
    ws.send(JSON.stringify({ op: 'subscribe', pattern, ref: `s${++this.#ref}` }));
  }

  #onMessage(data: unknown): void {
    if (typeof data !== 'string') return;
    let raw: unknown;
    try {
      raw = JSON.parse(data);
    } catch {
      return;
    }
    const env = asEnvelope(raw);
    if (!env) return;
    if (env.intent === 'error') this.emit('error', env);
    else this.emit('envelope', env);
  }
}

function detach(ws: WebSocketLike): void {
  ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
}

/** Acks (`{op:'ack'}`) and anything without an intent and a payload object are not envelopes. */
export function asEnvelope(raw: unknown): BusEnvelope | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const e = raw as Record<string, unknown>;
  if (typeof e.intent !== 'string' || typeof e.payload !== 'object' || e.payload === null) return undefined;
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  return { ...(e as object), id: str(e.id), ts: str(e.ts), src: str(e.src), dst: str(e.dst), provider: str(e.provider), tenant: str(e.tenant), intent: e.intent, payload: e.payload };
}
