/**
 * The embedded bus hub: Hono on @hono/node-server, WebSockets from @hono/node-ws.
 * `GET /healthz`, `GET /metrics` (JSON counters), `POST /api/session` (login token → session token),
 * `GET /bus` (WebSocket; token via `Authorization: Bearer` or `?token=`; 401 before the upgrade).
 *
 * On `/bus`: a text message is one JSON envelope (publish) or a control object
 * `{ "op": "subscribe" | "unsubscribe", "pattern", "ref"? }`, answered `{ "op": "ack", "ref" }`;
 * a binary message is a bus frame (shared/src/frame.ts). Accepted envelopes go, as their original
 * bytes, to every connection with a matching pattern (once per connection, the publisher included).
 * Every rejected message gets exactly one `error` envelope back (see ingest.ts, dispatch.ts).
 * Close codes: 1001 hub closing, 1009 frame beyond hardMaxFrameBytes, 4008 slow consumer.
 */
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { createNodeWebSocket } from '@hono/node-ws';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { WebSocket } from 'ws';
import { PrometheanError, type ErrorCode } from '@promethean/shared';
import { bearerToken, loadOrCreateAgentKey, TokenStore, type IssuedToken, type Principal, type SessionScope } from './auth.ts';
import { HubConnection } from './connection.ts';
import { HubCounters, type HubMetrics } from './metrics.ts';
import { defaultHubOptions, type HubEnv, type HubOptions } from './options.ts';
import { removeRuntimeFile, writeRuntimeFile } from './runtime-file.ts';
import { handleMessage, type HubCore } from './dispatch.ts';
import { SubscriptionIndex } from './router.ts';

export interface Hub {
  /** `ws://host:port/bus`. */
  readonly url: string;
  /** `http://host:port`. */
  readonly httpUrl: string;
  readonly port: number;
  /** Path of the agent key file. */
  readonly agentKeyFile: string;
  /** The agent key (for in-process agents and tests). */
  readonly agentKey: string;
  readonly options: Readonly<HubOptions>;
  /** A fresh one-time owner token for the login link. */
  issueLoginToken(scope?: Partial<SessionScope>): IssuedToken;
  /** A session token with a given scope and role (CLI, invites, tests). */
  issueSessionToken(principal: Principal & { tenant: string }): IssuedToken;
  revokeSession(token: string): boolean;
  metrics(): HubMetrics;
  /** Closes every connection and the listener (idempotent). */
  close(): Promise<void>;
}

type Env = HubEnv;

export async function createHub(options: Partial<HubOptions> = {}): Promise<Hub> {
  const opts: HubOptions = { ...defaultHubOptions, ...options };
  if (opts.hardMaxFrameBytes < opts.maxFrameBytes) {
    throw new PrometheanError('bad_config', 'hardMaxFrameBytes must be >= maxFrameBytes', { path: 'hardMaxFrameBytes' });
  }
  const { key: agentKey, path: agentKeyFile } = await loadOrCreateAgentKey(opts.dataDir);
  const tokens = new TokenStore(agentKey, { loginMs: opts.loginTokenTtlMs, sessionMs: opts.sessionTtlMs });
  const counters = new HubCounters();
  const core: HubCore = {
    options: opts,
    counters,
    index: new SubscriptionIndex<HubConnection>(opts.routeCacheSize),
  };
  const connections = new Set<HubConnection>();
  const startedAt = Date.now();
  let nextId = 1;

  const app = new Hono<Env>();
  const nodeWs = createNodeWebSocket({ app });
  // Frames up to the hard cap are read so that oversize ones get a typed error instead of a close;
  // UTF-8 of text frames is checked by the hub itself (malformed_json) rather than closing (1007).
  Object.assign(nodeWs.wss.options, { maxPayload: opts.hardMaxFrameBytes, skipUTF8Validation: true });

  const authenticate = (c: Context<Env>): Principal | undefined =>
    tokens.authenticate(bearerToken(c.req.header('authorization'), c.req.query('token')));

  const metrics = (): HubMetrics => {
    const mem = process.memoryUsage();
    return {
      uptime_s: (Date.now() - startedAt) / 1000,
      rss_bytes: mem.rss,
      heap_used_bytes: mem.heapUsed,
      connections: connections.size,
      published: counters.published,
      delivered: counters.delivered,
      dropped: counters.dropped,
      slow_disconnects: counters.slowDisconnects,
      unauthenticated: counters.unauthenticated,
      ping_timeouts: counters.pingTimeouts,
      max_queue_depth: counters.maxQueueDepth,
      observer_errors: counters.observerErrors,
      errors: { ...counters.errors },
      per_connection: [...connections].map((c) => c.snapshot()),
    };
  };

  app.onError((err, c) => {
    const code: ErrorCode = err instanceof PrometheanError ? err.code : 'internal';
    const status = code === 'unauthenticated' ? 401 : code === 'forbidden' ? 403 : code === 'internal' ? 500 : 400;
    return c.json({ error: { code, message: status === 500 ? 'internal error' : err.message } }, status);
  });
  app.get('/healthz', (c) => c.json({ ok: true, uptime_s: (Date.now() - startedAt) / 1000 }));
  app.get('/metrics', (c) => {
    const principal = authenticate(c);
    if (!principal) return c.json({ error: { code: 'unauthenticated', message: 'token required' } }, 401);
    if (principal.role === 'moderator') return c.json({ error: { code: 'forbidden', message: 'owner or agent only' } }, 403);
    const m = metrics();
    // An owner sees the hub's totals but only its own tenant's connections.
    if (principal.tenant !== null) m.per_connection = m.per_connection.filter((conn) => conn.tenant === principal.tenant);
    return c.json(m);
  });
  const smallBody = bodyLimit({
    maxSize: 4096,
    onError: (c) => c.json({ error: { code: 'oversize', message: 'request body over 4096 bytes' } }, 413),
  });
  app.post('/api/session', smallBody, async (c) => {
    let login = bearerToken(c.req.header('authorization'), undefined);
    if (!login) {
      const body: unknown = await c.req.json().catch(() => undefined);
      const t = (body as { token?: unknown } | undefined)?.token;
      if (typeof t === 'string') login = t;
    }
    if (!login) throw new PrometheanError('unauthenticated', 'send the login token as a Bearer token or {"token": …}');
    const session = tokens.exchangeLoginToken(login);
    return c.json({ token: session.token, expires_at: session.expires_at, role: session.principal.role, tenant: session.principal.tenant });
  });
  app.get(
    '/bus',
    async (c, next) => {
      const principal = authenticate(c);
      if (!principal) {
        counters.unauthenticated++;
        return c.text('unauthorized', 401);
      }
      c.set('principal', principal);
      await next();
    },
    nodeWs.upgradeWebSocket((c) => {
      const principal = c.get('principal');
      return {
        onOpen(_event, ctx) {
          const ws = ctx.raw as WebSocket;
          // The upgraded request's socket is the one `ws` writes to: the connection corks it to batch
          // deliveries and writes prebuilt frames to it. Only without extensions (no compression),
          // which the hub never offers; otherwise every message goes through ws.send.
          const socket = ws.extensions === '' ? (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket : undefined;
          const conn = new HubConnection(nextId++, ws, principal, opts, counters, socket ?? undefined);
          connections.add(conn);
          ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
            const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
            try {
              handleMessage(core, conn, buf, isBinary);
            } catch (cause) {
              // Defensive: the hub never dies from input.
              counters.error('internal');
              void cause;
            }
          });
          ws.on('close', () => {
            conn.markClosed();
            connections.delete(conn);
            for (const p of conn.patterns) core.index.remove(p, conn);
            conn.patterns.clear();
          });
          ws.on('pong', () => (conn.alive = true));
          ws.on('error', () => undefined);
        },
      };
    }),
  );

  opts.mount?.(app, { authenticate: (token) => tokens.authenticate(token) });

  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  nodeWs.injectWebSocket(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => undefined);
  const port = (server.address() as AddressInfo).port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const url = `ws://${host}:${port}/bus`;
  if (opts.writeRuntimeFile) {
    await writeRuntimeFile(opts.dataDir, { hub_url: url, key_file: agentKeyFile, pid: process.pid, started_at: new Date(startedAt).toISOString() });
  }

  const pinger =
    opts.pingIntervalMs > 0
      ? setInterval(() => {
          for (const conn of connections) if (!conn.heartbeat()) counters.pingTimeouts++;
        }, opts.pingIntervalMs)
      : undefined;
  pinger?.unref();

  let closing: Promise<void> | undefined;
  return {
    url,
    httpUrl: `http://${host}:${port}`,
    port,
    agentKeyFile,
    agentKey,
    options: opts,
    issueLoginToken: (scope = {}) => tokens.issueLoginToken({ ...scope, tenant: scope.tenant ?? opts.defaultTenant }),
    issueSessionToken: (principal) => tokens.issueSessionToken(principal),
    revokeSession: (token) => tokens.revoke(token),
    metrics,
    close() {
      closing ??= (async () => {
        if (pinger) clearInterval(pinger);
        for (const conn of connections) conn.close(1001, 'hub closing');
        if (nodeWs.wss.clients.size > 0) await new Promise((resolve) => setTimeout(resolve, 50));
        for (const ws of nodeWs.wss.clients) ws.terminate();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        nodeWs.wss.close();
        if (opts.writeRuntimeFile) await removeRuntimeFile(opts.dataDir);
      })();
      return closing;
    },
  };
}
