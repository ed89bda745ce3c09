/**
 * Hub authentication. Agents present the 256-bit key from `<dataDir>/agent.key`; browsers present a
 * session (an HttpOnly cookie) obtained by exchanging a one-time owner login token. Every token is a
 * random 256-bit value; only its sha-256 is kept, in memory and, through {@link TokenPersistence},
 * in the store, so logins and sessions survive a restart of the server.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConsoleSayLine, PrometheanError } from '@promethean/shared';

export type Role = 'owner' | 'moderator' | 'agent';

/** Who is on the other end of a connection or request. */
export interface Principal {
  role: Role;
  /** null for agents: they may use every tenant. */
  tenant: string | null;
  guild?: string;
  channel?: string;
  /** The session's id: the first 16 hex digits of its token's sha-256 (never the token). Absent for agents. */
  sid?: string;
  /** Whom an invitation made this session for (free text or a Discord id). */
  name?: string;
  /** An agent with its own key: its id (`src` must say so). Absent for the hub's own key. */
  agent?: string;
  /** What that agent may publish (its manifest's outputs); a read-only key publishes nothing. */
  outputs?: ReadonlySet<string>;
  readonly?: boolean;
}

export interface SessionScope {
  tenant: string;
  guild?: string;
  channel?: string;
}

export interface IssuedToken {
  token: string;
  expires_at: string;
  /** Settles once the token is in the store (immediately without persistence). */
  saved: Promise<void>;
}

/** A token's scope as the store keeps it. */
export interface PersistedScope {
  provider: string;
  tenant: string;
  guild_id?: string | undefined;
  channel_id?: string | undefined;
}

/** A token row as the store returns it. */
export interface PersistedToken {
  token_hash: string;
  kind: 'login' | 'session' | 'agent';
  role: Role;
  scope: PersistedScope[];
  expires_at: string;
  revoked_at: string | null;
  label?: string | null;
  session_ttl_s?: number | null;
}

/** Where tokens are kept across restarts (the Store satisfies it). */
export interface TokenPersistence {
  putToken(token: { token_hash: string; kind: 'login' | 'session'; role: Role; scope: PersistedScope[]; expires_at: string; label?: string | null; session_ttl_s?: number | null }): Promise<void>;
  getToken(tokenHash: string): Promise<PersistedToken | undefined>;
  /** Marks a login token used; answers it only the first time, and only while valid. */
  consumeToken(tokenHash: string): Promise<PersistedToken | undefined>;
  revokeToken(tokenHash: string): Promise<boolean>;
}

/** Name of the session cookie. */
export const SESSION_COOKIE = 'promethean_session';

interface StoredToken {
  principal: Principal;
  expiresAt: number;
  /** For a login token: the lifetime of the session it becomes (an invitation's). */
  sessionTtlMs?: number;
  /** The store write of this token, when there is one. */
  saved?: Promise<void>;
}

const TOKEN_RE = /^[A-Za-z0-9_-]{16,128}$/;

/** A session's public id, derived from its token hash. */
export function sessionId(tokenHash: string): string {
  return tokenHash.slice(0, 16);
}

function toScope(principal: Principal): PersistedScope[] {
  return [{ provider: '*', tenant: principal.tenant ?? '*', ...(principal.guild ? { guild_id: principal.guild } : {}), ...(principal.channel ? { channel_id: principal.channel } : {}) }];
}

function fromRow(row: PersistedToken): Principal | undefined {
  const scope = row.scope[0];
  if (!scope || scope.tenant === '*' || row.role === 'agent') return undefined;
  return {
    role: row.role,
    tenant: scope.tenant,
    ...(scope.guild_id ? { guild: scope.guild_id } : {}),
    ...(scope.channel_id ? { channel: scope.channel_id } : {}),
    ...(row.label ? { name: row.label } : {}),
    ...(row.kind === 'session' ? { sid: sessionId(row.token_hash) } : {}),
  };
}

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

/** Sessions kept in memory at most; beyond it the oldest are forgotten here (the store still has them). */
const MAX_CACHED_SESSIONS = 10_000;

export class TokenStore {
  readonly #agentKeyHash: Buffer;
  /** sha-256 hex of each agent's own key → its principal. */
  #agentKeys = new Map<string, Principal>();
  readonly #sessions = new Map<string, StoredToken>();
  readonly #logins = new Map<string, StoredToken>();
  private readonly ttl: { loginMs: number; sessionMs: number };
  private readonly now: () => number;
  private readonly persistence: TokenPersistence | undefined;

  constructor(agentKey: string, ttl: { loginMs: number; sessionMs: number }, now: () => number = Date.now, persistence?: TokenPersistence) {
    this.#agentKeyHash = sha256(agentKey);
    this.ttl = ttl;
    this.now = now;
    this.persistence = persistence;
  }

  /** Resolves a bearer token to its principal from memory; undefined when unknown or expired. */
  authenticate(token: string | undefined): Principal | undefined {
    if (!token || token.length > 256) return undefined;
    const hash = sha256(token);
    if (timingSafeEqual(hash, this.#agentKeyHash)) return { role: 'agent', tenant: null };
    const key = hash.toString('hex');
    const agent = this.#agentKeys.get(key);
    if (agent) return agent;
    const stored = this.#sessions.get(key);
    if (!stored) return undefined;
    if (stored.expiresAt <= this.now()) {
      this.#sessions.delete(key);
      return undefined;
    }
    return stored.principal;
  }

  /** Replaces the known agent keys (from `keys/agents.json`); returns the ids that are no longer known. */
  setAgentKeys(entries: readonly { id: string; sha256: string; outputs: readonly string[]; readonly: boolean }[]): string[] {
    const before = new Set([...this.#agentKeys.values()].map((p) => p.agent!));
    this.#agentKeys = new Map(entries.map((e) => [e.sha256, { role: 'agent' as const, tenant: null, agent: e.id, outputs: new Set(e.outputs), readonly: e.readonly }]));
    for (const e of entries) before.delete(e.id);
    return [...before];
  }

  /** Like {@link authenticate}, then asks the store for a session issued before a restart. */
  async authenticateAsync(token: string | undefined): Promise<Principal | undefined> {
    const known = this.authenticate(token);
    if (known || !token || !TOKEN_RE.test(token) || !this.persistence) return known;
    const key = sha256(token).toString('hex');
    const row = await this.persistence.getToken(key);
    if (!row || row.kind !== 'session' || row.revoked_at !== null) return undefined;
    const expiresAt = Date.parse(row.expires_at);
    const principal = fromRow(row);
    if (!principal || !(expiresAt > this.now())) return undefined;
    this.#remember(key, { principal, expiresAt });
    return principal;
  }

  /** A fresh one-time owner token for the login link. */
  issueLoginToken(scope: SessionScope): IssuedToken {
    this.#prune();
    return this.#issue(this.#logins, 'login', { role: 'owner', ...scope }, this.ttl.loginMs);
  }

  /**
   * An invitation: a one-time login token for a named person, with a role, a guild (and channel)
   * scope, and the lifetime of the session it becomes.
   */
  issueInvitation(invite: { tenant: string; guild: string; channel?: string; role: 'owner' | 'moderator'; name: string; sessionTtlMs: number }): IssuedToken {
    this.#prune();
    const principal: Principal = { role: invite.role, tenant: invite.tenant, guild: invite.guild, ...(invite.channel ? { channel: invite.channel } : {}), name: invite.name };
    return this.#issue(this.#logins, 'login', principal, this.ttl.loginMs, invite.sessionTtlMs);
  }

  /**
   * Exchanges a login token for a session token with the same scope. The login token is consumed
   * even when it is presented twice at once; a reused, unknown or expired one rejects with
   * `unauthenticated`. The session is in the store before this resolves.
   */
  async exchangeLoginToken(loginToken: string): Promise<IssuedToken & { principal: Principal }> {
    if (!TOKEN_RE.test(loginToken)) throw new PrometheanError('unauthenticated', 'not a login token');
    const key = sha256(loginToken).toString('hex');
    const stored = this.#logins.get(key);
    this.#logins.delete(key);
    let principal: Principal | undefined;
    let ttlMs = this.ttl.sessionMs;
    if (stored && stored.expiresAt > this.now()) {
      // Issued by this process: memory decided single use; the store only records it.
      principal = stored.principal;
      ttlMs = stored.sessionTtlMs ?? ttlMs;
      if (this.persistence) {
        await stored.saved?.catch(() => undefined);
        await this.persistence.consumeToken(key).catch(() => undefined);
      }
    } else if (!stored && this.persistence) {
      // Issued before a restart: the store decides single use.
      const row = await this.persistence.consumeToken(key);
      principal = row && row.kind === 'login' && Date.parse(row.expires_at) > this.now() ? fromRow(row) : undefined;
      if (row?.session_ttl_s) ttlMs = row.session_ttl_s * 1000;
    }
    if (!principal) throw new PrometheanError('unauthenticated', 'login token is unknown, used or expired');
    const issued = this.#issue(this.#sessions, 'session', principal, ttlMs);
    await issued.saved;
    return { ...issued, principal: this.authenticate(issued.token) ?? principal };
  }

  /** Issues a session token directly (CLI, tests, a moderator invite). */
  issueSessionToken(principal: Principal & { tenant: string }): IssuedToken {
    this.#prune();
    return this.#issue(this.#sessions, 'session', principal, this.ttl.sessionMs);
  }

  revoke(token: string): boolean {
    return this.revokeHash(sha256(token).toString('hex'));
  }

  /** Revokes a session by its token's hash (from the store's list); resolves once the store has it. */
  revokeHash(key: string): boolean {
    const known = this.#sessions.delete(key);
    this.persistence?.revokeToken(key).catch(() => undefined);
    return known;
  }

  #issue(map: Map<string, StoredToken>, kind: 'login' | 'session', principal: Principal, ttlMs: number, sessionTtlMs?: number): IssuedToken {
    const token = newToken();
    const expiresAt = this.now() + ttlMs;
    const key = sha256(token).toString('hex');
    const expires_at = new Date(expiresAt).toISOString();
    const saved = this.persistence
      ? this.persistence.putToken({
          token_hash: key,
          kind,
          role: principal.role,
          scope: toScope(principal),
          expires_at,
          label: principal.name ?? null,
          session_ttl_s: sessionTtlMs !== undefined ? Math.round(sessionTtlMs / 1000) : null,
        })
      : Promise.resolve();
    // A caller that does not wait for the store must not see an unhandled rejection.
    saved.catch(() => undefined);
    const { sid: _previous, ...scope } = principal;
    const stored: StoredToken = { principal: kind === 'session' ? { ...scope, sid: sessionId(key) } : scope, expiresAt, saved, ...(sessionTtlMs !== undefined ? { sessionTtlMs } : {}) };
    if (map === this.#sessions) this.#remember(key, stored);
    else map.set(key, stored);
    return { token, expires_at, saved };
  }

  #remember(key: string, stored: StoredToken): void {
    if (this.#sessions.size >= MAX_CACHED_SESSIONS) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest !== undefined) this.#sessions.delete(oldest);
    }
    this.#sessions.set(key, stored);
  }

  #prune(): void {
    const now = this.now();
    for (const map of [this.#logins, this.#sessions]) {
      for (const [key, value] of map) if (value.expiresAt <= now) map.delete(key);
    }
  }
}

/**
 * What a principal may do besides reading its tenant's topics: owners steer the bot (`control`),
 * silence it (`silence`, the kill switch) and make it say a typed line (`speak`); moderators listen
 * and may silence it. "Say this" is for owners only: a moderator can stop the bot at once but never
 * put words in its mouth (an invitation carries no speak grant).
 */
export function grantsOf(p: Principal): string[] {
  if (p.role === 'agent') return ['agent'];
  return p.role === 'owner' ? ['owner', 'control', 'silence', 'speak'] : ['moderator', 'silence'];
}

/** Intents a `control` grant may publish: steering the bot, never making it speak. */
const CONTROL_INTENTS = new Set(['voice.control.join', 'voice.control.leave', 'voice.control.set-bitrate']);

/** Intents a browser session may publish about one voice session (`payload.session_id`), and the grant each needs. */
const SESSION_INTENTS: ReadonlyMap<string, string> = new Map([
  ['voice.play.stop', 'silence'],
  ['duck.reply.message', 'speak'],
]);

/** Whether a browser session's publish of this intent is a bot action that goes on record before it is delivered. */
export function isAuditedBotIntent(intent: string): boolean {
  return SESSION_INTENTS.has(intent);
}

/** What the publish check needs of an envelope. */
export interface PublishedEnvelope {
  tenant: string;
  intent: string;
  src: string;
  payload: unknown;
}

/** Why a publish is refused: `forbidden` (who may not), or `schema` (what a grant allows is held to a stricter shape). */
export interface PublishRefusal {
  code: 'forbidden' | 'schema';
  message: string;
  path?: string;
}

/** Where a voice session lives (the voice access agent's announcement); undefined when unknown. */
export type SessionScopeLookup = (sessionId: string) => EnvelopeScope | undefined;

/**
 * Intents the DSP offload scheduler rules on (server/src/dsp/offload.ts): a console's runner intents,
 * the VAD worker's stream report, and every speech segment.
 */
export const DSP_INTENTS: ReadonlySet<string> = new Set(['dsp.capacity', 'dsp.heartbeat', 'dsp.leave', 'dsp.streams', 'voice.audio.segment']);

/**
 * The DSP offload scheduler as the publish check sees it: a session publishes a stream's
 * `voice.audio.segment` only while it holds that stream's `dsp:` lease, and only as the stream's next
 * index; every runner intent and every segment (agents' included) goes through it.
 */
export interface DspGrants {
  /** Why `principal` may not publish `env` (one of {@link DSP_INTENTS}), or undefined when it may. */
  refusal(principal: Principal, env: PublishedEnvelope): string | undefined;
}

function dspRefusal(principal: Principal, env: PublishedEnvelope, dsp: DspGrants | undefined): PublishRefusal | undefined {
  if (!dsp || !DSP_INTENTS.has(env.intent)) return undefined;
  const message = dsp.refusal(principal, env);
  return message === undefined ? undefined : { code: 'forbidden', message };
}

/**
 * Why `principal` may not publish `env` (a message for the `forbidden` error), or undefined when it
 * may. See {@link publishRefusal}.
 */
export function publishDenial(principal: Principal, env: PublishedEnvelope, sessionScope?: SessionScopeLookup): string | undefined {
  return publishRefusal(principal, env, sessionScope)?.message;
}

/**
 * Why `principal` may not publish `env`, or undefined when it may. Agents publish anything (their
 * manifests narrow that where they are enforced); a browser's session publishes only within its
 * tenant, with `src` = `client:<session id>`, only the intents its grants allow:
 *
 * - owners: `voice.control.*` within their guild and channel scope;
 * - owners and moderators: `voice.play.stop` (the kill switch) for a voice session inside their scope;
 * - owners: `duck.reply.message` ("say this") for a voice session inside their scope, held to
 *   `ConsoleSayLine` (a `say:` segment, spoken, one line of at most 300 characters).
 *
 * A session limited to a guild or channel may act on a voice session only when the voice access
 * agent announced where that session is (`sessionScope`) and it is inside the limit: unknown means no.
 */
export function publishRefusal(principal: Principal, env: PublishedEnvelope, sessionScope?: SessionScopeLookup, dsp?: DspGrants): PublishRefusal | undefined {
  const forbidden = (message: string): PublishRefusal => ({ code: 'forbidden', message });
  if (principal.role === 'agent') {
    if (principal.agent === undefined) return dspRefusal(principal, env, dsp); // the hub's own key
    if (principal.readonly) return forbidden(`the key of ${principal.agent} is read-only`);
    if (env.src !== principal.agent) return forbidden(`src must be "${principal.agent}" for this key`);
    if (principal.outputs && !principal.outputs.has(env.intent)) return forbidden(`${principal.agent} did not declare ${env.intent} among its outputs`);
    return dspRefusal(principal, env, dsp);
  }
  if (principal.tenant === null) return undefined;
  if (principal.tenant !== env.tenant) return forbidden(`this session may not publish to tenant "${env.tenant}"`);
  const src = `client:${principal.sid ?? 'unknown'}`;
  if (env.src !== src) return forbidden(`src must be "${src}" for this session`);
  const grants = grantsOf(principal);
  // A DSP runner's intents and segments: the offload scheduler's `dsp:` leases decide.
  if (DSP_INTENTS.has(env.intent)) return dsp ? dspRefusal(principal, env, dsp) : forbidden(`a ${principal.role} may not publish ${env.intent}`);
  const sessionGrant = SESSION_INTENTS.get(env.intent);
  if (sessionGrant !== undefined) {
    if (!grants.includes(sessionGrant)) return forbidden(`a ${principal.role} may not publish ${env.intent}`);
    if (env.intent === 'duck.reply.message') {
      const r = ConsoleSayLine.safeParse(env.payload);
      if (!r.success) {
        const issue = r.error.issues[0];
        const path = ['payload', ...(issue?.path ?? []).map(String)].join('.');
        return { code: 'schema', message: `a console's duck.reply.message ${path}: ${issue?.message ?? 'invalid'}`, path };
      }
    }
    const sessionId = (env.payload as { session_id?: unknown } | null)?.session_id;
    if (typeof sessionId !== 'string' || sessionId === '') return { code: 'schema', message: `${env.intent} payload.session_id: must name the voice session`, path: 'payload.session_id' };
    if (principal.guild === undefined && principal.channel === undefined) return undefined;
    const where = sessionScope?.(sessionId);
    if (!where) return forbidden(`voice session ${sessionId} is not known to be inside this session's scope`);
    if (!mayReceive(principal, where)) return forbidden(`voice session ${sessionId} is outside this session's scope (${principal.channel !== undefined ? `channel ${principal.channel}` : `guild ${principal.guild}`})`);
    return undefined;
  }
  if (!(grants.includes('control') && CONTROL_INTENTS.has(env.intent))) return forbidden(`a ${principal.role} may not publish ${env.intent}`);
  const payload = env.payload as { guild_id?: unknown; channel_id?: unknown } | null;
  if (principal.guild !== undefined && payload?.guild_id !== principal.guild) return forbidden(`this session is limited to guild ${principal.guild}`);
  if (principal.channel !== undefined && payload?.channel_id !== undefined && payload.channel_id !== principal.channel) return forbidden(`this session is limited to channel ${principal.channel}`);
  return undefined;
}

/** Where an envelope belongs below its tenant, for sessions limited to a guild or channel. */
export interface EnvelopeScope {
  guild: string | undefined;
  channel: string | undefined;
}

/** Whether a session limited to a guild (and channel) may receive an envelope of `scope`. Unknown scope: no. */
export function mayReceive(principal: Principal, scope: EnvelopeScope | undefined): boolean {
  if (principal.guild === undefined && principal.channel === undefined) return true;
  if (!scope) return false;
  if (principal.guild !== undefined && scope.guild !== principal.guild) return false;
  if (principal.channel !== undefined && scope.channel !== principal.channel) return false;
  return true;
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

/** Whether a string has the shape of one of our tokens (43 base64url characters and the like). */
export function isTokenShaped(value: string): boolean {
  return TOKEN_RE.test(value);
}

/**
 * The bearer token of a request: `Authorization: Bearer <t>`. Tokens are never read from the URL
 * (`?token=` is refused outright, so nobody builds on it: URLs end up in logs and proxies).
 */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(authorization);
  return m?.[1];
}
