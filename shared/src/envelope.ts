/**
 * The one envelope every process speaks. Validate once where a message enters a process
 * ({@link parseEnvelope}); inside, trust the types.
 */
import { z } from 'zod';
import { PrometheanError } from './errors.ts';
import { uuidv7, UUID_V7_RE } from './ids.ts';
import { ID_TOKEN_RE, isIntent, topic } from './topics.ts';
import { PAYLOAD_SCHEMAS, type KnownIntent, type PayloadOf } from './schemas/index.ts';

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
 */
export function parseEnvelope(raw: unknown): Envelope {
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
  const schema = (PAYLOAD_SCHEMAS as Record<string, z.ZodType>)[env.intent];
  if (schema) {
    const payload = schema.safeParse(env.payload);
    if (!payload.success) {
      const { message, path } = issuesMessage(payload.error, 'payload');
      throw new PrometheanError('schema', `${env.intent} ${message}`, { path });
    }
    env.payload = payload.data;
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
