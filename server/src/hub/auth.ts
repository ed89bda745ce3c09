/**
 * Hub authentication. Agents present the 256-bit key from `<dataDir>/agent.key`; browsers present a
 * session token obtained by exchanging a one-time owner login token. Every token is a random 256-bit
 * value; only its sha-256 is kept in memory.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PrometheanError } from '@promethean/shared';

export type Role = 'owner' | 'moderator' | 'agent';

/** Who is on the other end of a connection or request. */
export interface Principal {
  role: Role;
  /** null for agents: they may use every tenant. */
  tenant: string | null;
  guild?: string;
  channel?: string;
}

export interface SessionScope {
  tenant: string;
  guild?: string;
  channel?: string;
}

export interface IssuedToken {
  token: string;
  expires_at: string;
}

interface StoredToken {
  principal: Principal;
  expiresAt: number;
}

const TOKEN_RE = /^[A-Za-z0-9_-]{16,128}$/;

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Reads `<dataDir>/agent.key`, creating it (256-bit random hex, mode 0600) when missing. */
export async function loadOrCreateAgentKey(dataDir: string): Promise<{ key: string; path: string }> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, 'agent.key');
  try {
    const key = (await readFile(path, 'utf8')).trim();
    if (!/^[0-9a-f]{64}$/.test(key)) throw new PrometheanError('bad_config', `${path} does not hold a 256-bit hex key`, { path: 'agent.key' });
    return { key, path };
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw cause;
  }
  const key = randomBytes(32).toString('hex');
  try {
    await writeFile(path, `${key}\n`, { mode: 0o600, flag: 'wx' });
  } catch (cause) {
    // Another process created it first: use theirs.
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateAgentKey(dataDir);
    throw cause;
  }
  await chmod(path, 0o600);
  return { key, path };
}

export class TokenStore {
  readonly #agentKeyHash: Buffer;
  readonly #sessions = new Map<string, StoredToken>();
  readonly #logins = new Map<string, StoredToken>();
  private readonly ttl: { loginMs: number; sessionMs: number };
  private readonly now: () => number;

  constructor(agentKey: string, ttl: { loginMs: number; sessionMs: number }, now: () => number = Date.now) {
    this.#agentKeyHash = sha256(agentKey);
    this.ttl = ttl;
    this.now = now;
  }

  /** Resolves a bearer token to its principal; undefined when unknown or expired. */
  authenticate(token: string | undefined): Principal | undefined {
    if (!token || token.length > 256) return undefined;
    const hash = sha256(token);
    if (timingSafeEqual(hash, this.#agentKeyHash)) return { role: 'agent', tenant: null };
    const key = hash.toString('hex');
    const stored = this.#sessions.get(key);
    if (!stored) return undefined;
    if (stored.expiresAt <= this.now()) {
      this.#sessions.delete(key);
      return undefined;
    }
    return stored.principal;
  }

  /** A fresh one-time owner token for the login link. */
  issueLoginToken(scope: SessionScope): IssuedToken {
    this.#prune();
    return this.#issue(this.#logins, { role: 'owner', ...scope }, this.ttl.loginMs);
  }

  /**
   * Exchanges a login token for a session token with the same scope. The login token is consumed
   * even when it is presented twice at once; a reused, unknown or expired one throws `unauthenticated`.
   */
  exchangeLoginToken(loginToken: string): IssuedToken & { principal: Principal } {
    if (!TOKEN_RE.test(loginToken)) throw new PrometheanError('unauthenticated', 'not a login token');
    const key = sha256(loginToken).toString('hex');
    const stored = this.#logins.get(key);
    this.#logins.delete(key);
    if (!stored || stored.expiresAt <= this.now()) throw new PrometheanError('unauthenticated', 'login token is unknown, used or expired');
    const issued = this.#issue(this.#sessions, stored.principal, this.ttl.sessionMs);
    return { ...issued, principal: stored.principal };
  }

  /** Issues a session token directly (CLI, tests, a moderator invite). */
  issueSessionToken(principal: Principal & { tenant: string }): IssuedToken {
    this.#prune();
    return this.#issue(this.#sessions, principal, this.ttl.sessionMs);
  }

  revoke(token: string): boolean {
    return this.#sessions.delete(sha256(token).toString('hex'));
  }

  #issue(map: Map<string, StoredToken>, principal: Principal, ttlMs: number): IssuedToken {
    const token = newToken();
    const expiresAt = this.now() + ttlMs;
    map.set(sha256(token).toString('hex'), { principal: { ...principal }, expiresAt });
    return { token, expires_at: new Date(expiresAt).toISOString() };
  }

  #prune(): void {
    const now = this.now();
    for (const map of [this.#logins, this.#sessions]) {
      for (const [key, value] of map) if (value.expiresAt <= now) map.delete(key);
    }
  }
}

/** Whether `principal` may publish to a topic of `tenant`. */
export function mayPublish(principal: Principal, tenant: string): boolean {
  return principal.tenant === null || principal.tenant === tenant;
}

/**
 * Whether `principal` may subscribe to `pattern` (pre-split). Session tokens may only match their
 * tenant's topics: `promethean.p.<provider|*>.t.<tenant>.<…>`.
 */
export function maySubscribe(principal: Principal, tokens: readonly string[]): boolean {
  if (principal.tenant === null) return true;
  return (
    tokens.length >= 6 &&
    tokens[0] === 'promethean' &&
    tokens[1] === 'p' &&
    tokens[2] !== '>' &&
    tokens[3] === 't' &&
    tokens[4] === principal.tenant
  );
}

/** The bearer token of a request: `Authorization: Bearer <t>` or `?token=<t>`. */
export function bearerToken(authorization: string | undefined, query: string | undefined): string | undefined {
  if (authorization) {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization);
    return m?.[1];
  }
  return query || undefined;
}
