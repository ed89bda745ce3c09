/**
 * JSON over same-origin HTTP. The session cookie travels by itself (`credentials: 'same-origin'`);
 * no token is ever stored by the page. Failures become {@link ApiError}.
 */
import { ApiError } from '../errors.ts';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Let the request outlive the page (a DELETE sent while the tab closes). */
  keepalive?: boolean;
}

/** Sends a request; resolves with the parsed JSON body, or `undefined` for 204 / an empty body. */
export async function requestJson<T>(fetchFn: FetchLike, path: string, options: RequestOptions = {}): Promise<T | undefined> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  const init: RequestInit = { method: options.method ?? 'GET', headers, credentials: 'same-origin', cache: 'no-store' };
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  if (options.signal) init.signal = options.signal;
  if (options.keepalive) init.keepalive = true;
  let res: Response;
  try {
    res = await fetchFn(path, init);
  } catch (cause) {
    const aborted = (cause as { name?: string } | null)?.name === 'AbortError';
    throw new ApiError(0, aborted ? 'aborted' : 'network', aborted ? 'request aborted' : `no answer from the server (${path})`, { cause });
  }
  const text = await res.text().catch(() => '');
  let body: unknown;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch (cause) {
      if (res.ok) throw new ApiError(res.status, 'bad_response', `${path} answered ${res.status} with a body that is not JSON`, { cause });
    }
  }
  if (!res.ok) throw errorFromBody(res.status, body, res.statusText);
  return body as T | undefined;
}

/** `{ error: { code, message } }` → ApiError; anything else gets a code from the status. */
export function errorFromBody(status: number, body: unknown, statusText = ''): ApiError {
  const err = (body as { error?: { code?: unknown; message?: unknown } } | null | undefined)?.error;
  const code = typeof err?.code === 'string' ? err.code : `http_${status}`;
  const message = typeof err?.message === 'string' ? err.message : `${status} ${statusText}`.trim();
  return new ApiError(status, code, message);
}
