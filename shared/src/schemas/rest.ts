/**
 * The one REST proxy contract for every provider (seeds: discord-rest). Workers publish
 * `rest.request`; the tenant's access agent adds credentials, honours rate-limit buckets and answers
 * `rest.response` with the request's id as `corr`.
 */
import { z } from 'zod';

export const HTTP_METHODS = ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'] as const;

/**
 * A route relative to the provider's API base (`/channels/123/messages?limit=50`). Absolute URLs,
 * protocol-relative `//host`, `..` segments and control characters are refused, so a request can
 * never carry the tenant's credentials to another host.
 */
export const RestRoute = z
  .string()
  .min(1)
  .max(2048)
  .regex(/^\/(?!\/)[^\s\\]*$/, 'must be a path starting with a single "/" (no scheme, host or whitespace)')
  .refine((v) => !v.split('?')[0]!.split('/').some((s) => s === '..' || s === '.'), { message: 'must not contain "." or ".." segments' });

export const RestRequest = z.object({
  method: z.enum(HTTP_METHODS),
  url: RestRoute,
  /** JSON body; the proxy serialises it. */
  body: z.unknown().optional(),
  /** Audit-log reason (Discord: X-Audit-Log-Reason). */
  reason: z.string().max(512).optional(),
  /** Caller's dedupe key; the proxy performs a given key at most once (default: method, url, body hash). */
  idempotency_key: z.string().min(1).max(128).optional(),
  /** Give up when no response arrives within this many ms, queueing included. */
  timeout_ms: z.number().int().min(1).max(600_000).default(15_000),
  /** Seed shape carried the tenant in the payload; the envelope's tenant is authoritative. */
  tenant: z.string().optional(),
});
export type RestRequest = z.infer<typeof RestRequest>;

export const RestResponse = z
  .object({
    /** HTTP status; 0 when no response came back (network error, timeout). */
    status: z.number().int().min(0).max(599),
    ok: z.boolean(),
    /** Rate-limit bucket the route fell into, when the provider names one. */
    bucket: z.string().max(128).nullable().default(null),
    /** How long to wait before retrying this route (0: no wait). */
    retry_after_ms: z.number().int().nonnegative().default(0),
    /** True when the limit hit was the provider's global limit. */
    global: z.boolean().default(false),
    data: z.unknown().optional(),
    /** Short reason when `ok` is false. */
    error: z.string().max(2000).optional(),
    tenant: z.string().optional(),
  })
  .refine((v) => v.ok === (v.status >= 200 && v.status < 300), {
    message: 'ok must be true exactly for 2xx statuses',
    path: ['ok'],
  });
export type RestResponse = z.infer<typeof RestResponse>;

export const restPayloads = {
  'rest.request': RestRequest,
  'rest.response': RestResponse,
} as const;
