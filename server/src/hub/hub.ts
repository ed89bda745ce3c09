/**
 * The embedded bus hub: Hono on @hono/node-server, WebSockets from @hono/node-ws.
 * `GET /healthz`, `GET /metrics` (JSON counters), `POST /api/session` (login token → an HttpOnly
 * session cookie), `GET /api/me`, `POST /api/logout`, `GET /bus` (WebSocket; agents send their key
 * as `Authorization: Bearer` (never in the URL), browsers the session cookie from their own origin; 401
 * before the upgrade).
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
import { createServer as createHttpsServer } from 'node:https';
import { unwatchFile, watchFile } from 'node:fs';
import { agentKeysFile, loadAgentKeys } from './agent-keys.ts';
import { createAdaptorServer } from '@hono/node-server';
import { createNodeWebSocket } from '@hono/node-ws';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { getCookie, setCookie } from 'hono/cookie';
import type { WebSocket } from 'ws';
import { PrometheanError, type ErrorCode } from '@promethean/shared';
import { bearerToken, isTokenShaped, loadOrCreateAgentKey, SESSION_COOKIE, TokenStore, type IssuedToken, type Principal, type SessionScope } from './auth.ts';
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
  /** Port of the loopback listener for agents, when the public one is elsewhere. */
  readonly agentPort: number | undefined;
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
  /** An invitation's one-time login token (see TokenStore.issueInvitation). */
  issueInvitation(invite: { tenant: string; guild: string; channel?: string; role: 'owner' | 'moderator'; name: string; sessionTtlMs: number }): IssuedToken;
  /** Revokes a session by its token hash and closes its connections at once; returns how many closed. */
  revokeSessionHash(tokenHash: string): number;
  metrics(): HubMetrics;
  /** Closes every connection and the listener (idempotent). */
  close(): Promise<void>;
}

type Env = HubEnv;

/** The HTTP status of each typed error; anything else is a 400. */
const HTTP_STATUS: Partial<Record<ErrorCode, 401 | 403 | 404 | 409 | 413 | 429 | 500 | 503 | 504>> = {
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  invalid_state: 409,
  oversize: 413,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
  timeout: 504,
};

export async function createHub(options: Partial<HubOptions> = {}): Promise<Hub> {
  const opts: HubOptions = { ...defaultHubOptions, ...options };
  if (opts.hardMaxFrameBytes < opts.maxFrameBytes) {
    throw new PrometheanError('bad_config', 'hardMaxFrameBytes must be >= maxFrameBytes', { path: 'hardMaxFrameBytes' });
  }
  const { key: agentKey, path: agentKeyFile } = await loadOrCreateAgentKey(opts.dataDir);
  const tokens = new TokenStore(agentKey, { loginMs: opts.loginTokenTtlMs, sessionMs: opts.sessionTtlMs }, Date.now, opts.tokenPersistence);
  tokens.setAgentKeys(await loadAgentKeys(opts.dataDir));
  const counters = new HubCounters();
  const core: HubCore = {
    options: opts,
    counters,
    index: new SubscriptionIndex<HubConnection>(opts.routeCacheSize),
    sessions: new Map(),
  };
  const connections = new Set<HubConnection>();
  const startedAt = Date.now();
  let nextId = 1;

  const app = new Hono<Env>();
  const nodeWs = createNodeWebSocket({ app });
  // Frames up to the hard cap are read so that oversize ones get a typed error instead of a close;
  // UTF-8 of text frames is checked by the hub itself (malformed_json) rather than closing (1007).
  Object.assign(nodeWs.wss.options, { maxPayload: opts.hardMaxFrameBytes, skipUTF8Validation: true });

  const authenticate = (c: Context<Env>): Principal | undefined => tokens.authenticate(bearerToken(c.req.header('authorization')));

  /** Whether a request's Origin (when it has one) is the hub's own: the Host it was sent to, or the public origin. */
  const sameOrigin = (c: Context): boolean => {
    const origin = c.req.header('origin');
    if (origin === undefined) return true;
    const host = c.req.header('host');
    const own = host ? [`http://${host}`, `https://${host}`] : [];
    if (opts.publicOrigin) own.push(new URL(opts.publicOrigin).origin);
    return own.includes(origin);
  };

  /** Bearer token (agents, CLI) first; else the session cookie, from the hub's own origin only. */
  const authenticateRequest = async (c: Context): Promise<Principal | undefined> => {
    const bearer = bearerToken(c.req.header('authorization'));
    if (bearer) return tokens.authenticateAsync(bearer);
    const cookie = getCookie(c, SESSION_COOKIE);
    if (!cookie || !isTokenShaped(cookie)) return undefined;
    if (!sameOrigin(c)) {
      counters.error('forbidden');
      return undefined;
    }
    return tokens.authenticateAsync(cookie);
  };

  const secureCookie = (c: Context): boolean => new URL(c.req.url).protocol === 'https:' || (opts.publicOrigin?.startsWith('https:') ?? false);
  const setSessionCookie = (c: Context, value: string, maxAgeS: number) =>
    setCookie(c, SESSION_COOKIE, value, { path: '/', httpOnly: true, sameSite: 'Strict', secure: secureCookie(c), maxAge: Math.max(0, Math.floor(maxAgeS)) });
  const describe = (p: Principal, expiresAt?: string) => ({
    role: p.role,
    ...(p.name ? { name: p.name } : {}),
    tenant: p.tenant,
    guilds: p.guild ? [p.guild] : null,
    channels: p.channel ? [p.channel] : null,
    ...(expiresAt ? { expires_at: expiresAt } : {}),
    // The session's public id (never the token): its envelopes' `src` is `client:<sid>` (a DSP runner needs it).
    ...(p.sid ? { sid: p.sid } : {}),
  });

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
      out_of_scope: counters.outOfScope,
      rate_limited: counters.rateLimited,
      connection_cap: counters.connectionCap,
      errors: { ...counters.errors },
      per_connection: [...connections].map((c) => c.snapshot()),
    };
  };

  app.onError((err, c) => {
    const code: ErrorCode = err instanceof PrometheanError ? err.code : 'internal';
    const status = HTTP_STATUS[code] ?? 400;
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
  // No API request body is larger than an SDP answer; routes that read bodies set tighter limits.
  app.use(
    '/api/*',
    bodyLimit({ maxSize: 128 * 1024, onError: (c) => c.json({ error: { code: 'oversize', message: 'request body over 128 KiB' } }, 413) }),
  );
  const smallBody = bodyLimit({
    maxSize: 4096,
    onError: (c) => c.json({ error: { code: 'oversize', message: 'request body over 4096 bytes' } }, 413),
  });
  app.post('/api/session', smallBody, async (c) => {
    let login = bearerToken(c.req.header('authorization'));
    if (!login) {
      const body: unknown = await c.req.json().catch(() => undefined);
      const t = (body as { token?: unknown } | undefined)?.token;
      if (typeof t === 'string') login = t;
    }
    if (!login) throw new PrometheanError('unauthenticated', 'send the login token as a Bearer token or {"token": …}');
    if (!sameOrigin(c)) throw new PrometheanError('forbidden', 'cross-origin login refused');
    const session = await tokens.exchangeLoginToken(login);
    // The session lives in an HttpOnly cookie: page scripts never see it, and it is never in a URL.
    setSessionCookie(c, session.token, (Date.parse(session.expires_at) - Date.now()) / 1000);
    return c.json(describe(session.principal, session.expires_at));
  });
  app.get('/api/me', async (c) => {
    const principal = await authenticateRequest(c);
    if (!principal) throw new PrometheanError('unauthenticated', 'not signed in: open the login link printed by promethean start');
    return c.json(describe(principal));
  });
  app.post('/api/logout', async (c) => {
    const cookie = getCookie(c, SESSION_COOKIE);
    if (cookie && isTokenShaped(cookie) && sameOrigin(c)) tokens.revoke(cookie);
    setSessionCookie(c, '', 0);
    return c.body(null, 204);
  });
  app.get(
    '/bus',
    async (c, next) => {
      const principal = await authenticateRequest(c);
      if (!principal) {
        counters.unauthenticated++;
        return c.text('unauthorized', 401);
      }
      // The hub's own key (the server, the operator) is not capped; sessions and agent keys are.
      const who = principal.sid ?? principal.agent;
      if (who !== undefined) {
        let held = 0;
        for (const conn of connections) if ((conn.principal.sid ?? conn.principal.agent) === who) held++;
        if (held >= opts.maxConnectionsPerPrincipal) {
          counters.connectionCap++;
          return c.json({ error: { code: 'rate_limited', message: `at most ${opts.maxConnectionsPerPrincipal} connections at once; close one first` } }, 429);
        }
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

  opts.mount?.(app, { authenticate: (token) => tokens.authenticate(token), authenticateRequest });

  const listen = async (server: Server, port: number, host: string): Promise<number> => {
    nodeWs.injectWebSocket(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => undefined);
    return (server.address() as AddressInfo).port;
  };
  const bracket = (h: string) => (h.includes(':') ? `[${h}]` : h);
  // The public listener: https/wss with a certificate, plain http/ws otherwise.
  const server = (opts.tls
    ? createAdaptorServer({ fetch: app.fetch, createServer: createHttpsServer, serverOptions: { cert: opts.tls.cert, key: opts.tls.key } })
    : createAdaptorServer({ fetch: app.fetch })) as Server;
  const servers: Server[] = [server];
  const port = await listen(server, opts.port, opts.host);
  const host = bracket(opts.host);
  const scheme = opts.tls ? 'https' : 'http';
  let url = `${opts.tls ? 'wss' : 'ws'}://${host}:${port}/bus`;
  let agentPort: number | undefined;
  if (opts.agentListener) {
    // Agents and CLI clients on this machine reach the hub over loopback, without the public
    // certificate (whose names are the public host's, not 127.0.0.1).
    const internal = createAdaptorServer({ fetch: app.fetch }) as Server;
    servers.push(internal);
    agentPort = await listen(internal, opts.agentListener.port, opts.agentListener.host);
    url = `ws://${bracket(opts.agentListener.host)}:${agentPort}/bus`;
  }
  if (opts.writeRuntimeFile) {
    await writeRuntimeFile(opts.dataDir, { hub_url: url, key_file: agentKeyFile, pid: process.pid, started_at: new Date(startedAt).toISOString() });
  }

  // Agent keys issued or revoked while running: reload, and close the connections of revoked agents.
  const reloadAgentKeys = async (): Promise<void> => {
    try {
      const gone = tokens.setAgentKeys(await loadAgentKeys(opts.dataDir));
      for (const conn of connections) if (conn.principal.agent !== undefined && gone.includes(conn.principal.agent)) conn.close(4001, 'agent key revoked');
    } catch {
      counters.error('bad_config');
    }
  };
  watchFile(agentKeysFile(opts.dataDir), { interval: 500, persistent: false }, () => void reloadAgentKeys());

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
    httpUrl: `${scheme}://${host}:${port}`,
    port,
    agentPort,
    agentKeyFile,
    agentKey,
    options: opts,
    issueLoginToken: (scope = {}) => tokens.issueLoginToken({ ...scope, tenant: scope.tenant ?? opts.defaultTenant }),
    issueSessionToken: (principal) => tokens.issueSessionToken(principal),
    revokeSession: (token) => tokens.revoke(token),
    issueInvitation: (invite) => tokens.issueInvitation(invite),
    revokeSessionHash: (tokenHash) => {
      tokens.revokeHash(tokenHash);
      const sid = tokenHash.slice(0, 16);
      let closed = 0;
      for (const conn of connections) {
        if (conn.principal.sid === sid) {
          conn.close(4001, 'session revoked');
          closed++;
        }
      }
      return closed;
    },
    metrics,
    close() {
      closing ??= (async () => {
        if (pinger) clearInterval(pinger);
        unwatchFile(agentKeysFile(opts.dataDir));
        for (const conn of connections) conn.close(1001, 'hub closing');
        if (nodeWs.wss.clients.size > 0) await new Promise((resolve) => setTimeout(resolve, 50));
        for (const ws of nodeWs.wss.clients) ws.terminate();
        await Promise.all(
          servers.map(
            (srv) =>
              new Promise<void>((resolve) => {
                srv.close(() => resolve());
                srv.closeAllConnections();
              }),
          ),
        );
        nodeWs.wss.close();
        if (opts.writeRuntimeFile) await removeRuntimeFile(opts.dataDir);
      })();
      return closing;
    },
  };
}
