/**
 * Sign-in. The login link carries a one-time token in the fragment (`/login#token=…`): the page
 * takes it, removes it from the address bar at once, and trades it for an HttpOnly session cookie
 * (`POST /api/session`). Without a fragment, `GET /api/me` says whether the cookie is still good.
 * The page never stores a token.
 */
import { ApiError } from '../errors.ts';
import { requestJson, type FetchLike } from '../net/http.ts';

export interface SessionInfo {
  role: string;
  /** Null for an owner that sees every tenant. */
  tenant: string | null;
  name: string | null;
  /** Guilds (ids) this moderator may see; null = all of the tenant's. */
  guilds: string[] | null;
  /** Voice channels (ids) this moderator may see; null = all. */
  channels: string[] | null;
  expires_at: string | null;
}

export type SignInResult =
  | { kind: 'signed-in'; session: SessionInfo }
  | { kind: 'signed-out'; message: string }
  | { kind: 'error'; message: string; retryable: boolean };

export const SIGN_IN_HINT = 'Open the login link printed by `promethean start`, or run `npx promethean login`.';

/** Reads `#token=…` and, when present, replaces the address with `/` before anything else happens. */
export function takeLoginToken(hash: string, replaceUrl: (url: string) => void): string | null {
  if (!hash || hash.length < 2) return null;
  const token = new URLSearchParams(hash.slice(1)).get('token');
  if (token === null) return null;
  replaceUrl('/');
  return token.length > 0 ? token : null;
}

/** Exchanges a login token (when given) or checks the cookie session. */
export async function signIn(fetchFn: FetchLike, loginToken: string | null): Promise<SignInResult> {
  try {
    const body = loginToken
      ? await requestJson<unknown>(fetchFn, '/api/session', { method: 'POST', headers: { authorization: `Bearer ${loginToken}` } })
      : await requestJson<unknown>(fetchFn, '/api/me');
    const session = parseSessionInfo(body);
    if (!session) return { kind: 'error', message: 'The server answered sign-in with an unexpected body.', retryable: false };
    return { kind: 'signed-in', session };
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      const why = loginToken ? 'That login link was already used or has expired.' : 'You are not signed in.';
      return { kind: 'signed-out', message: `${why} ${SIGN_IN_HINT}` };
    }
    const retryable = error instanceof ApiError ? error.retryable : false;
    return { kind: 'error', message: `Could not reach the server to sign in (${(error as Error).message}).`, retryable };
  }
}

/** Validates the `/api/session` and `/api/me` body; undefined when it lacks a role. */
export function parseSessionInfo(body: unknown): SessionInfo | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  if (typeof b.role !== 'string' || b.role.length === 0) return undefined;
  const ids = (v: unknown): string[] | null => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : null);
  return {
    role: b.role,
    tenant: typeof b.tenant === 'string' && b.tenant.length > 0 ? b.tenant : null,
    name: typeof b.name === 'string' && b.name.length > 0 ? b.name : null,
    guilds: ids(b.guilds),
    channels: ids(b.channels),
    expires_at: typeof b.expires_at === 'string' ? b.expires_at : null,
  };
}
