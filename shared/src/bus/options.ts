/** Options of the bus client. */

/** The WebSocket constructor the client uses; the global one in browsers and Node 22+. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocket;

export interface BusClientOptions {
  /** Hub URL, `ws://host:port/bus`. */
  url: string;
  /**
   * Agent key or session token, sent as `Authorization: Bearer` (Node's WebSocket takes headers).
   * Empty in a browser, which authenticates with its session cookie.
   */
  token: string;
  /** Messages kept while disconnected; beyond it the oldest is dropped and counted. */
  maxQueued: number;
  /** Reconnect after an unexpected close. */
  reconnect: boolean;
  /** First reconnect delay. */
  initialBackoffMs: number;
  /** Longest reconnect delay. */
  maxBackoffMs: number;
  /** Delay growth per failed attempt. */
  backoffFactor: number;
  /** Random spread of each delay, 0..1 (0.2 = ±20 %). */
  jitter: number;
  /** WebSocket implementation; defaults to `globalThis.WebSocket`. */
  WebSocket: WebSocketConstructor | undefined;
}

export const defaultBusClientOptions: Omit<BusClientOptions, 'url' | 'token'> = {
  maxQueued: 1000,
  reconnect: true,
  initialBackoffMs: 100,
  maxBackoffMs: 5000,
  backoffFactor: 2,
  jitter: 0.2,
  WebSocket: undefined,
};
