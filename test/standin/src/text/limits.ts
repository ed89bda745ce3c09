/**
 * Discord's REST rate limits, set in one place, and the limiter that enforces them the way Discord
 * reports them: per-route buckets keyed by (bot, bucket, major parameter) with `X-RateLimit-Limit`,
 * `-Remaining`, `-Reset`, `-Reset-After` and `-Bucket` on every answer; buckets shared by several
 * routes (one `X-RateLimit-Bucket` hash); the global limit of 50 requests per second per bot; and 429
 * answers with Discord's body `{ message, retry_after, global }`, a `Retry-After` header and
 * `X-RateLimit-Scope`. Every 429 served is counted per bucket so tests and benches can read them.
 *
 * Discord documents the global limit (50/s per bot) and the header shapes; it does not publish
 * per-route numbers and tells clients to read the headers. The route numbers below are the values its
 * headers report for these routes (message create 5 per 5 s per channel, and so on).
 */
import { createHash } from 'node:crypto';

export interface RouteLimit {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Route template with `{id}` for any snowflake, as Discord's docs write routes. */
  route: string;
  /** Bucket name; routes that give the same name share one bucket (one `X-RateLimit-Bucket` hash). */
  bucket: string;
  /** Requests per window. */
  limit: number;
  windowMs: number;
}

/** The global limit: requests per second per bot, across every route. */
export const GLOBAL_LIMIT = { requests: 50, windowMs: 1000 } as const;

/** A route not listed here gets its own bucket with this limit. */
export const DEFAULT_ROUTE_LIMIT = { limit: 50, windowMs: 1000 } as const;

export const ROUTE_LIMITS: readonly RouteLimit[] = [
  { method: 'POST', route: '/channels/{id}/messages', bucket: 'message-create', limit: 5, windowMs: 5000 },
  // Reading a page and reading one message share one bucket per channel.
  { method: 'GET', route: '/channels/{id}/messages', bucket: 'message-read', limit: 50, windowMs: 1000 },
  { method: 'GET', route: '/channels/{id}/messages/{id}', bucket: 'message-read', limit: 50, windowMs: 1000 },
  { method: 'PATCH', route: '/channels/{id}/messages/{id}', bucket: 'message-edit', limit: 5, windowMs: 5000 },
  { method: 'DELETE', route: '/channels/{id}/messages/{id}', bucket: 'message-delete', limit: 5, windowMs: 1000 },
  { method: 'POST', route: '/channels/{id}/messages/bulk-delete', bucket: 'message-bulk-delete', limit: 1, windowMs: 1000 },
  { method: 'GET', route: '/users/@me/guilds', bucket: 'user-guilds', limit: 1, windowMs: 1000 },
  { method: 'GET', route: '/guilds/{id}/channels', bucket: 'guild-channels', limit: 10, windowMs: 10_000 },
  { method: 'POST', route: '/attachments/refresh-urls', bucket: 'attachments-refresh', limit: 5, windowMs: 1000 },
];

/** Top-level resources whose id is a route's major parameter (its buckets are per resource). */
const MAJOR = /^\/(channels|guilds|webhooks)\/(\d{1,20})/;

/** `/channels/123/messages/456` → `/channels/{id}/messages/{id}`. */
export function routeTemplate(path: string): string {
  return path.replace(/\/\d{1,20}(?=\/|$)/g, '/{id}');
}

export function majorParameter(path: string): string {
  const m = MAJOR.exec(path);
  return m ? `${m[1]}:${m[2]}` : 'global';
}

/** An opaque 32-hex bucket hash, as Discord's `X-RateLimit-Bucket` looks. */
export function bucketHash(name: string): string {
  return createHash('sha256').update(`standin-bucket:${name}`).digest('hex').slice(0, 32);
}

export type LimitDecision =
  | { ok: true; headers: Record<string, string>; bucket: string }
  | { ok: false; headers: Record<string, string>; bucket: string; body: { message: string; retry_after: number; global: boolean } };

interface Window {
  count: number;
  resetAt: number;
}

/** Most windows kept; expired ones are dropped first. */
const MAX_WINDOWS = 50_000;

const secs = (ms: number) => (Math.max(0, ms) / 1000).toFixed(3);

export class RateLimiter {
  /** 429s served: `<bucket hash>:<major>` or `global` → count. */
  readonly served429 = new Map<string, number>();
  readonly counters = { checked: 0, limited: 0, globalLimited: 0 };
  readonly #windows = new Map<string, Window>();
  readonly #byRoute = new Map<string, RouteLimit>();
  #now: () => number;

  constructor(options: { now?: () => number; routes?: readonly RouteLimit[] } = {}) {
    this.#now = options.now ?? Date.now;
    for (const r of options.routes ?? ROUTE_LIMITS) this.#byRoute.set(`${r.method} ${r.route}`, r);
  }

  /** The limit a request falls under. */
  limitFor(method: string, path: string): RouteLimit {
    const route = routeTemplate(path);
    const known = this.#byRoute.get(`${method} ${route}`);
    if (known) return known;
    return { method: method as RouteLimit['method'], route, bucket: `${method} ${route}`, ...DEFAULT_ROUTE_LIMIT };
  }

  /** 429s served in total. */
  get total429(): number {
    let n = 0;
    for (const v of this.served429.values()) n += v;
    return n;
  }

  /** Counts one request of `botId`; says whether it may proceed and which headers to send. */
  take(botId: string, method: string, path: string): LimitDecision {
    this.counters.checked++;
    const now = this.#now();
    const limit = this.limitFor(method, path);
    const hash = bucketHash(limit.bucket);
    const bucketKey = `${hash}:${majorParameter(path)}`;
    const global = this.#window(`global:${botId}`, GLOBAL_LIMIT.windowMs, now);
    if (global.count >= GLOBAL_LIMIT.requests) {
      const retry = global.resetAt - now;
      this.#count429('global');
      this.counters.globalLimited++;
      return {
        ok: false,
        bucket: 'global',
        headers: { 'retry-after': String(Math.ceil(retry / 1000)), 'x-ratelimit-global': 'true', 'x-ratelimit-scope': 'global' },
        body: { message: 'You are being rate limited.', retry_after: Number(secs(retry)), global: true },
      };
    }
    global.count++;
    const w = this.#window(`${botId}:${bucketKey}`, limit.windowMs, now);
    const resetAfter = w.resetAt - now;
    const headers: Record<string, string> = {
      'x-ratelimit-limit': String(limit.limit),
      'x-ratelimit-reset': ((w.resetAt) / 1000).toFixed(3),
      'x-ratelimit-reset-after': secs(resetAfter),
      'x-ratelimit-bucket': hash,
    };
    if (w.count >= limit.limit) {
      this.#count429(bucketKey);
      this.counters.limited++;
      const shared = [...this.#byRoute.values()].filter((r) => r.bucket === limit.bucket).length > 1;
      return {
        ok: false,
        bucket: bucketKey,
        headers: { ...headers, 'x-ratelimit-remaining': '0', 'retry-after': String(Math.ceil(resetAfter / 1000)), 'x-ratelimit-scope': shared ? 'shared' : 'user' },
        body: { message: 'You are being rate limited.', retry_after: Number(secs(resetAfter)), global: false },
      };
    }
    w.count++;
    headers['x-ratelimit-remaining'] = String(limit.limit - w.count);
    return { ok: true, headers, bucket: bucketKey };
  }

  #count429(key: string): void {
    this.served429.set(key, (this.served429.get(key) ?? 0) + 1);
  }

  /** The current fixed window for `key`, started by the first request after the last one ended. */
  #window(key: string, windowMs: number, now: number): Window {
    let w = this.#windows.get(key);
    if (!w || w.resetAt <= now) {
      w = { count: 0, resetAt: now + windowMs };
      if (this.#windows.size >= MAX_WINDOWS) this.#sweep(now);
      this.#windows.set(key, w);
    }
    return w;
  }

  #sweep(now: number): void {
    for (const [k, v] of this.#windows) if (v.resetAt <= now) this.#windows.delete(k);
    // Still full: forget the oldest (a forgotten window only makes the limiter more lenient).
    while (this.#windows.size >= MAX_WINDOWS) this.#windows.delete(this.#windows.keys().next().value as string);
  }

  /** Forgets every window and counter (between bench runs). */
  reset(): void {
    this.#windows.clear();
    this.served429.clear();
    this.counters.checked = this.counters.limited = this.counters.globalLimited = 0;
  }
}
