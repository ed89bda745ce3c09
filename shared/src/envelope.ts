/**
 * The one envelope every process speaks. Validate once where a message enters a process
 * ({@link parseEnvelope}); inside, trust the types.
 */
import { z } from 'zod';
import { PrometheanError } from './errors.ts';
import { uuidv7, UUID_V7_RE } from './ids.ts';
import { ID_TOKEN_RE, isIntent, MAX_TOPIC_LENGTH, topic } from './topics.ts';
import { PAYLOAD_SCHEMAS, type KnownIntent, type PayloadOf } from './schemas/index.ts';
import { compileFastParse, UNSURE, type FastParse } from './schemas/fast.ts';

/** W3C traceparent: version-traceid-parentid-flags. */
export const TRACEPARENT_RE = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

export const ModelRefSchema = z.object({
  name: z.string().min(1),
  version: z.string().min(1),
  checksum: z.string().optional(),
});

export const AuthSchema = z.object({
  sub: z.string().min(1),
  roles: z.array(z.string()),
  scopes: z.array(z.string()),
});

export const AttachmentSchema = z.object({ bytes: z.number().int().nonnegative() });

/** The envelope with an unvalidated payload; {@link parseEnvelope} checks the payload by intent. */
export const EnvelopeSchema = z
  .object({
    id: z.string().regex(UUID_V7_RE, 'id must be a UUID v7'),
    ts: z.iso.datetime({ precision: 3 }),
    src: z.string().min(1).max(128),
    dst: z.string().min(1).max(255),
    provider: z.string().regex(ID_TOKEN_RE),
    tenant: z.string().regex(ID_TOKEN_RE),
    intent: z.string().refine(isIntent, 'intent must be dot-separated [A-Za-z0-9_-] tokens'),
    payload: z.unknown(),
    corr: z.string().min(1).max(128).optional(),
    trace: z.string().regex(TRACEPARENT_RE, 'trace must be a W3C traceparent').optional(),
    auth: AuthSchema.optional(),
    build_sha: z.string().max(64).optional(),
    models: z.array(ModelRefSchema).optional(),
    config_rev: z.string().max(128).optional(),
    attachments: z.array(AttachmentSchema).max(64).optional(),
  })
  .strict();

type EnvelopeBase = Omit<z.infer<typeof EnvelopeSchema>, 'payload' | 'intent'>;

/** An envelope whose payload type follows its intent; unknown intents carry `unknown`. */
export type Envelope<I extends string = string> = EnvelopeBase & {
  intent: I;
  payload: I extends KnownIntent ? PayloadOf<I> : unknown;
};

export type AnyEnvelope = { [I in KnownIntent]: Envelope<I> }[KnownIntent] | Envelope<string>;

/**
 * Turns the first zod issue into a dotted path and message. An unrecognized key is reported at the
 * key itself (zod puts it on the parent), so `path` always names the offending field.
 */
export function issuesMessage(error: z.ZodError, prefix: string): { message: string; path: string } {
  const first = error.issues[0];
  const segments = first ? first.path.map(String) : [];
  if (first?.code === 'unrecognized_keys' && first.keys[0] !== undefined) segments.push(first.keys[0]);
  const path = [prefix, ...segments].filter(Boolean).join('.');
  return { message: `${path || 'envelope'}: ${first?.message ?? 'invalid'}`, path };
}

/**
 * Validates a decoded JSON value as an envelope: every field, `dst` equal to the topic of
 * (provider, tenant, intent), and the payload against its intent's schema when the intent is known.
 * Throws {@link PrometheanError} with code `schema` or `topic_mismatch`.
 *
 * The envelope fields are first checked by {@link acceptEnvelopeFast}, a hand-written check that
 * accepts only envelopes the zod schema accepts and copies them as zod would; anything it is not
 * sure about goes through zod ({@link parseEnvelopeWithZod}), which also words every error.
 */
export function parseEnvelope(raw: unknown): Envelope {
  const env = acceptEnvelopeFast(raw);
  if (env === undefined) return parseEnvelopeWithZod(raw);
  const fast = fastPayload(env.intent);
  if (fast) {
    const payload = fast(env.payload);
    if (payload !== UNSURE) {
      env.payload = payload;
      return env;
    }
  }
  return withPayload(env);
}

/**
 * The envelope as {@link parseEnvelope} returns it when the hand-written and compiled checks alone
 * were sure of it (no zod involved), else `undefined` (which says nothing about validity). Shapes
 * (envelope-shape.ts) are only built from such envelopes, so their field checks are the same ones.
 */
export function parseEnvelopeFastOnly(raw: unknown): Envelope | undefined {
  const env = acceptEnvelopeFast(raw);
  if (env === undefined) return undefined;
  const fast = fastPayload(env.intent);
  if (!fast) return undefined;
  const payload = fast(env.payload);
  if (payload === UNSURE) return undefined;
  env.payload = payload;
  return env;
}

/** The compiled payload check of `intent`: the pass-through for unknown intents, null where only zod can check it. */
export function compiledPayloadCheck(intent: string): FastParse | null {
  return fastPayload(intent);
}

/** Whether `ts` is an envelope timestamp, by the exact pattern zod checks. */
export const isEnvelopeTimestamp = (ts: string): boolean => TS_RE.test(ts);

/** Compiled payload checks of known intents (schemas/fast.ts), built on first use; null = zod only. */
const fastPayloads = new Map<string, FastParse | null>();
/** Unknown intents pass their payload through unvalidated, as {@link withPayload} does. */
const passThrough: FastParse = (v) => v;
function fastPayload(intent: string): FastParse | null {
  if (!isKnownIntent(intent)) return passThrough;
  let fast = fastPayloads.get(intent);
  if (fast === undefined) {
    fast = compileFastParse((PAYLOAD_SCHEMAS as Record<string, z.ZodType>)[intent]!) ?? null;
    fastPayloads.set(intent, fast);
  }
  return fast;
}

/** The reference implementation: zod only. Same results as {@link parseEnvelope}, slower. */
export function parseEnvelopeWithZod(raw: unknown): Envelope {
  const base = EnvelopeSchema.safeParse(raw);
  if (!base.success) {
    const { message, path } = issuesMessage(base.error, '');
    throw new PrometheanError('schema', message, { path });
  }
  const env = base.data;
  const expected = `promethean.p.${env.provider}.t.${env.tenant}.${env.intent}`;
  if (env.dst !== expected) {
    throw new PrometheanError('topic_mismatch', `dst "${env.dst}" is not the topic of its provider/tenant/intent (${expected})`, { path: 'dst' });
  }
  return withPayload(env as Envelope);
}

function withPayload(env: Envelope): Envelope {
  const schema = (PAYLOAD_SCHEMAS as Record<string, z.ZodType>)[env.intent];
  if (schema) {
    const payload = schema.safeParse(env.payload);
    if (!payload.success) {
      const { message, path } = issuesMessage(payload.error, 'payload');
      throw new PrometheanError('schema', `${env.intent} ${message}`, { path });
    }
    env.payload = payload.data;
  }
  return env;
}

/** The exact pattern zod checks `ts` with, so the fast path cannot disagree with it. */
const TS_RE = (EnvelopeSchema.shape.ts as unknown as { _zod: { def: { pattern: RegExp } } })._zod.def.pattern;
const ENVELOPE_KEYS = new Set(Object.keys(EnvelopeSchema.shape));
/** {@link isIntent} as one regex (dot-separated non-empty tokens), plus its length bound. */
const INTENT_RE = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown, min: number, max: number): v is string => typeof v === 'string' && v.length >= min && v.length <= max;
const optStr = (o: Record<string, unknown>, key: string, max: number, min = 0): boolean =>
  !(key in o) || isStr(o[key], min, max);

function strings(v: unknown): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: string[] = [];
  for (const s of v) {
    if (typeof s !== 'string') return undefined;
    out.push(s);
  }
  return out;
}

/**
 * Accepts the common valid envelope without zod and returns the copy zod would return (keys in
 * schema order, nested objects and arrays copied, unknown keys of `auth` and `models` stripped);
 * `undefined` means "not sure", never "invalid". Also requires `dst` to match, so a returned envelope
 * is routable as is.
 */
export function acceptEnvelopeFast(raw: unknown): Envelope | undefined {
  if (!isRecord(raw)) return undefined;
  const { id, ts, src, dst, provider, tenant, intent, payload } = raw;
  if (
    typeof provider !== 'string' ||
    typeof tenant !== 'string' ||
    typeof intent !== 'string' ||
    typeof dst !== 'string' ||
    // dst by string compare first: the cheapest check that rejects a misrouted envelope.
    dst.length !== 17 + provider.length + tenant.length + intent.length ||
    dst !== `promethean.p.${provider}.t.${tenant}.${intent}` ||
    dst.length > 255 ||
    typeof id !== 'string' ||
    typeof ts !== 'string' ||
    !isStr(src, 1, 128) ||
    payload === undefined ||
    !UUID_V7_RE.test(id) ||
    !TS_RE.test(ts) ||
    !ID_TOKEN_RE.test(provider) ||
    !ID_TOKEN_RE.test(tenant) ||
    intent.length > MAX_TOPIC_LENGTH ||
    !INTENT_RE.test(intent)
  ) {
    return undefined;
  }
  let n = 8;
  for (const key in raw) {
    if (!ENVELOPE_KEYS.has(key) || raw[key] === undefined) return undefined;
    n--;
  }
  const env: Record<string, unknown> = { id, ts, src, dst, provider, tenant, intent, payload };
  if (n === 0) return env as Envelope;
  if (!optStr(raw, 'corr', 128, 1) || !optStr(raw, 'build_sha', 64) || !optStr(raw, 'config_rev', 128)) return undefined;
  if ('corr' in raw) env.corr = raw.corr;
  if ('trace' in raw) {
    if (typeof raw.trace !== 'string' || !TRACEPARENT_RE.test(raw.trace)) return undefined;
    env.trace = raw.trace;
  }
  if ('auth' in raw) {
    const a = raw.auth;
    if (!isRecord(a) || !isStr(a.sub, 1, Infinity)) return undefined;
    const roles = strings(a.roles);
    const scopes = strings(a.scopes);
    if (!roles || !scopes) return undefined;
    env.auth = { sub: a.sub, roles, scopes };
  }
  if ('build_sha' in raw) env.build_sha = raw.build_sha;
  if ('models' in raw) {
    if (!Array.isArray(raw.models)) return undefined;
    const models: Record<string, unknown>[] = [];
    for (const m of raw.models as unknown[]) {
      if (!isRecord(m) || !isStr(m.name, 1, Infinity) || !isStr(m.version, 1, Infinity)) return undefined;
      const model: Record<string, unknown> = { name: m.name, version: m.version };
      if ('checksum' in m) {
        if (typeof m.checksum !== 'string') return undefined;
        model.checksum = m.checksum;
      }
      models.push(model);
    }
    env.models = models;
  }
  if ('config_rev' in raw) env.config_rev = raw.config_rev;
  if ('attachments' in raw) {
    const list = raw.attachments;
    if (!Array.isArray(list) || list.length > 64) return undefined;
    const attachments: { bytes: number }[] = [];
    for (const a of list as unknown[]) {
      if (!isRecord(a)) return undefined;
      const bytes = a.bytes;
      if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0) return undefined;
      attachments.push({ bytes });
    }
    env.attachments = attachments;
  }
  return env as Envelope;
}

export function isKnownIntent(intent: string): intent is KnownIntent {
  return Object.prototype.hasOwnProperty.call(PAYLOAD_SCHEMAS, intent);
}

export interface MakeEnvelopeOptions {
  src: string;
  provider: string;
  tenant: string;
  corr?: string;
  trace?: string;
  auth?: z.infer<typeof AuthSchema>;
  build_sha?: string;
  models?: z.infer<typeof ModelRefSchema>[];
  config_rev?: string;
}

/** Builds an envelope with a fresh id, timestamp and `dst`. The payload is type-checked, not parsed. */
export function makeEnvelope<I extends string>(
  intent: I,
  payload: I extends KnownIntent ? PayloadOf<I> : unknown,
  options: MakeEnvelopeOptions,
): Envelope<I> {
  const env = {
    id: uuidv7(),
    ts: new Date().toISOString(),
    src: options.src,
    dst: topic(options.provider, options.tenant, intent),
    provider: options.provider,
    tenant: options.tenant,
    intent,
    payload,
  } as Envelope<I>;
  for (const key of ['corr', 'trace', 'auth', 'build_sha', 'models', 'config_rev'] as const) {
    if (options[key] !== undefined) (env as Record<string, unknown>)[key] = options[key];
  }
  return env;
}
