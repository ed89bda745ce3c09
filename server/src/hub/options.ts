/** Options of the embedded bus hub. */
import type { Hono } from 'hono';
import type { Context } from 'hono';
import type { Envelope } from '@promethean/shared';
import type { DspGrants, EnvelopeScope, Principal, TokenPersistence } from './auth.ts';
import type { ConnectionLimits } from './rate.ts';

/** Hono environment of the hub's app: routes behind the hub's auth see the caller's principal. */
export type HubEnv = { Variables: { principal: Principal } };

/** What `mount` gets besides the app: the hub's token check, for routes that need one. */
export interface HubMountContext {
  /** Resolves a bearer token (agent key or session token) to its principal. */
  authenticate(token: string | undefined): Principal | undefined;
  /**
   * The principal of a request: `Authorization: Bearer`, else the session cookie (whose requests
   * must come from the hub's own origin when they carry an Origin header). Undefined when none.
   */
  authenticateRequest(c: Context): Promise<Principal | undefined>;
}

export interface HubOptions {
  /** Interface to listen on. */
  host: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Directory of `agent.key` and `runtime.json` (created with mode 0700 when missing). */
  dataDir: string;
  /** Whether to write `<dataDir>/runtime.json` on start (and remove it on close). */
  writeRuntimeFile: boolean;
  /** Largest accepted frame (text or binary) in bytes; larger ones get an `oversize` error. */
  maxFrameBytes: number;
  /**
   * Hard cap enforced by the WebSocket layer: a message beyond it closes the connection (1009)
   * because it cannot be read at all. Must be >= maxFrameBytes; frames between the two are read,
   * discarded and answered with `oversize`.
   */
  hardMaxFrameBytes: number;
  /** When the socket's buffered bytes exceed this, deliveries wait in the per-subscriber queues. */
  socketHighWaterBytes: number;
  /** Media (high-rate audio) frames queued per subscriber; beyond it the oldest is dropped. */
  mediaQueueMax: number;
  /** Control messages queued per subscriber; beyond it the subscriber is disconnected (4008). */
  controlQueueMax: number;
  /** Interval of WebSocket pings; a connection that has not answered the previous one is dropped. 0 = off. */
  pingIntervalMs: number;
  /** What a browser session's connection may send (agents are not limited: they carry the audio). */
  sessionLimits: ConnectionLimits;
  /** Connections one session (or one agent key) may hold at once; more are refused with 429. */
  maxConnectionsPerPrincipal: number;
  /** Subscriptions one connection may hold. */
  maxSubscriptionsPerConnection: number;
  /** Concrete topics whose subscriber lists are cached; the cache is cleared when full. */
  routeCacheSize: number;
  /** Lifetime of a one-time login token. */
  loginTokenTtlMs: number;
  /** Lifetime of a session token. */
  sessionTtlMs: number;
  /** Tenant of owner login tokens when issueLoginToken() is not given one. */
  defaultTenant: string;
  /** `src` of the envelopes the hub itself sends (errors). */
  hubId: string;
  /**
   * Adds routes to the hub's Hono app before it listens (console pages, signalling, other APIs).
   * Routes cannot be added later: Hono builds its router on the first request.
   */
  mount: ((app: Hono<HubEnv>, ctx: HubMountContext) => void) | undefined;
  /** Serve https/wss with this certificate and key (PEM). */
  tls: { cert: string; key: string } | undefined;
  /**
   * A second, plain listener for agents and CLI clients on this machine (loopback), used when the
   * public listener is on another interface; `url` and the runtime file then point at it.
   */
  agentListener: { host: string; port: number } | undefined;
  /** Where login and session tokens are kept across restarts (the store); memory only when absent. */
  tokenPersistence: TokenPersistence | undefined;
  /**
   * The origin browsers reach the hub at when it is behind a proxy (`https://mod.example.org`); the
   * request's own Host is accepted too. Cookies are marked Secure when it is https.
   */
  publicOrigin: string | undefined;
  /**
   * Called before a subscription is accepted; when it returns a promise, the subscription is
   * confirmed only once it resolves and refused (`unavailable`) if it rejects. The server writes
   * listens to the audit log here.
   */
  beforeSubscribe: ((principal: Principal, pattern: string) => Promise<void> | void) | undefined;
  /** Observer called after every accepted subscription. */
  onSubscribe: ((principal: Principal, pattern: string) => void) | undefined;
  /**
   * Called before a browser session's bot action (`voice.play.stop`, a console's
   * `duck.reply.message`) that passed the grant check is delivered, with the voice session's guild
   * and channel when known; when it returns a promise, the envelope is delivered only once it
   * resolves and refused (`unavailable`) if it rejects. The server writes these to the audit log here.
   */
  beforePublish: ((principal: Principal, envelope: Envelope, scope: EnvelopeScope | undefined) => Promise<void> | void) | undefined;
  /** The DSP offload scheduler's `dsp:` leases (server/src/dsp/offload.ts); without it sessions publish no DSP results. */
  dsp: DspGrants | undefined;
}

export const defaultHubOptions: HubOptions = {
  host: '127.0.0.1',
  port: 0,
  dataDir: 'data',
  writeRuntimeFile: true,
  maxFrameBytes: 1024 * 1024,
  hardMaxFrameBytes: 16 * 1024 * 1024,
  socketHighWaterBytes: 1024 * 1024,
  mediaQueueMax: 512,
  controlQueueMax: 4096,
  pingIntervalMs: 30_000,
  maxSubscriptionsPerConnection: 256,
  sessionLimits: { messagesPerS: 50, messageBurst: 200, bytesPerS: 256 * 1024, byteBurst: 1024 * 1024 },
  maxConnectionsPerPrincipal: 16,
  routeCacheSize: 4096,
  loginTokenTtlMs: 10 * 60 * 1000,
  sessionTtlMs: 12 * 60 * 60 * 1000,
  defaultTenant: 'demo',
  hubId: 'hub',
  mount: undefined,
  tokenPersistence: undefined,
  publicOrigin: undefined,
  beforeSubscribe: undefined,
  tls: undefined,
  agentListener: undefined,
  onSubscribe: undefined,
  beforePublish: undefined,
  dsp: undefined,
};

/**
 * High-rate media intents: a subscriber that falls behind loses the oldest of these frames
 * (drop-oldest, counted). Everything else is control and is never dropped.
 */
export function isMediaIntent(intent: string): boolean {
  return (
    intent.startsWith('voice.audio.pcm') ||
    intent.startsWith('voice.audio.rtp') ||
    intent.startsWith('voice.audio.spectrogram') ||
    intent.startsWith('voice.play.pcm') ||
    intent.startsWith('voice.play.opus')
  );
}
