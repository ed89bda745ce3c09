/**
 * The hub validates every publish with parseEnvelope(), whose envelope check is a hand-written fast
 * path that falls back to zod. Contract: for ANY input it returns or throws exactly what the zod-only
 * reference (parseEnvelopeWithZod) does — same value (deep, key order included), same error code,
 * message and path. Checked on the golden fixtures and on seeded random mutations of them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { acceptEnvelopeFast, compileFastParse, PAYLOAD_SCHEMAS, parseEnvelope, parseEnvelopeWithZod, PrometheanError } from '@promethean/shared';
import { seededRandom } from '../../../test/support/prng.ts';

const GOLDEN = new URL('../../../shared/fixtures/golden/', import.meta.url);
const inputs = readdirSync(GOLDEN)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(new URL(f, GOLDEN), 'utf8')) as Record<string, unknown>);

/** mulberry32: seeded so a failure replays with VALIDATION_SEED. */
const rand = seededRandom(Number(process.env.VALIDATION_SEED ?? 0x0e57ab1e));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

const KEYS = ['id', 'ts', 'src', 'dst', 'provider', 'tenant', 'intent', 'payload', 'corr', 'trace', 'auth', 'build_sha', 'models', 'config_rev', 'attachments'];
/** Values near the edges of every envelope field's rule, valid and not. */
const VALUES: unknown[] = [
  undefined, null, true, 0, -0, -1, 1.5, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, '', 'x', 'a'.repeat(64), 'a'.repeat(65),
  'a'.repeat(128), 'a'.repeat(129), 'a'.repeat(256), 'UPPER', 'demo', 'bad token', 'voice..x', '.voice', 'voice.', 'ÿ',
  '019a0000-0000-7000-8000-000000000000', '019a0000-0000-6000-8000-000000000000', '019A0000-0000-7000-8000-000000000000',
  '2026-01-02T03:04:05.678Z', '2026-02-30T03:04:05.678Z', '2026-01-02T03:04:05Z', '2026-01-02T03:04:05.678+01:00',
  '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01', '00-0123456789ABCDEF0123456789abcdef-0123456789abcdef-01',
  [], [1], ['a'], [{ bytes: 1 }], [{ bytes: -1 }], [{ bytes: 1.5 }], [{ bytes: 2, extra: 1 }], Array.from({ length: 65 }, () => ({ bytes: 0 })),
  {}, { sub: 'u', roles: [], scopes: [] }, { sub: '', roles: [], scopes: [] }, { sub: 'u', roles: ['a', 1], scopes: [] },
  { sub: 'u', roles: [], scopes: [], extra: true }, [{ name: 'm', version: '1' }], [{ name: 'm', version: '1', checksum: 'c', x: 1 }],
  [{ name: '', version: '1' }], [{ name: 'm', version: '1', checksum: undefined }], { op: 'subscribe' },
  // payload field edges (rates, channels, RTP ranges, codecs, enums, bigint strings)
  8000, 7999, 48000, 192000, 192001, 2, 3, 8, 9, 6000, 510000, 510001, 0xffff, 0x10000, 0xffffffff, 2 ** 32, 20, 21, -60, 24, 25,
  'pcm_s16le', 'pcm_f32le', 'plc', 'fec', 'connected', '0', '01', '123', '1'.repeat(39), '1'.repeat(40), 'a\ud83d\ude00', '\ud83d',
  { rate_hz: 48000, channels: 1, codec: 'pcm_s16le' }, { ssrc: 1, seq: 2, timestamp: 3 }, false,
];

/** Replaces, deletes or adds one field somewhere inside a payload (nested objects and arrays included). */
function mutateDeep(obj: Record<string, unknown> | unknown[]): void {
  const keys = Object.keys(obj);
  const key = keys.length === 0 || rand() < 0.1 ? (Array.isArray(obj) ? String(keys.length) : 'extra') : pick(keys);
  const child = (obj as Record<string, unknown>)[key];
  if (child && typeof child === 'object' && rand() < 0.6) return mutateDeep(child as Record<string, unknown>);
  const r = rand();
  if (r < 0.15 && !Array.isArray(obj)) delete obj[key];
  else if (r < 0.2) (obj as Record<string, unknown>)[key] = undefined;
  else (obj as Record<string, unknown>)[key] = structuredClone(pick(VALUES));
}

function mutate(src: Record<string, unknown>): unknown {
  const env: Record<string, unknown> = structuredClone(src);
  const n = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < n; i++) {
    const r = rand();
    const key = pick(KEYS);
    if (r < 0.15) delete env[key];
    else if (r < 0.2) env[`x_${key}`] = 1;
    else if (r < 0.35) {
      // Keep dst consistent with the (possibly mutated) provider/tenant/intent, so later checks run.
      env[key] = pick(VALUES);
      env.dst = `promethean.p.${String(env.provider)}.t.${String(env.tenant)}.${String(env.intent)}`;
    } else if (r < 0.45) env.dst = `${String(env.dst)}x`;
    else if (r < 0.55) env.corr = pick(['c', '', 'a'.repeat(129)]);
    else if (r < 0.85 && env.payload && typeof env.payload === 'object') mutateDeep(env.payload as Record<string, unknown>);
    else env[key] = pick(VALUES);
  }
  if (rand() < 0.05) return [env];
  return env;
}

type Outcome = { ok: true; value: unknown; keys: string } | { ok: false; code: string; message: string; path: string | undefined };

/** Key order of every object, depth first: toStrictEqual ignores it, JSON consumers may not. */
function keyOrder(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(keyOrder).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${k}:${keyOrder(x)}`).join(',')}}`;
  return '';
}

function outcome(parse: (raw: unknown) => unknown, raw: unknown): Outcome {
  try {
    const value = parse(structuredClone(raw));
    return { ok: true, value, keys: keyOrder(value) };
  } catch (error) {
    // A refine that throws (transcript.ts's BigInt on a malformed ts) must throw the same way on both paths.
    if (!(error instanceof PrometheanError)) return { ok: false, code: `threw ${(error as Error).name}`, message: (error as Error).message, path: undefined };
    return { ok: false, code: error.code, message: error.message, path: error.path };
  }
}

describe('parseEnvelope() fast path', () => {
  it('takes the fast path for every golden fixture and returns what zod returns', () => {
    expect(inputs.length).toBeGreaterThan(10);
    for (const input of inputs) {
      expect(acceptEnvelopeFast(structuredClone(input)), String(input.intent)).toBeDefined();
      expect(outcome(parseEnvelope, input)).toStrictEqual(outcome(parseEnvelopeWithZod, input));
    }
  });

  it('agrees with the zod-only reference on 30,000 seeded mutations (value, key order, error code/message/path)', () => {
    let fast = 0;
    let rejected = 0;
    for (let i = 0; i < 30_000; i++) {
      const raw = mutate(pick(inputs));
      const expected = outcome(parseEnvelopeWithZod, raw);
      const got = outcome(parseEnvelope, raw);
      if (JSON.stringify(got) !== JSON.stringify(expected) || got.ok !== expected.ok) {
        expect({ raw, got }).toStrictEqual({ raw, got: expected });
      }
      if (got.ok) expect(got.value).toStrictEqual((expected as { value: unknown }).value);
      if (acceptEnvelopeFast(structuredClone(raw)) !== undefined) fast++;
      if (!expected.ok) rejected++;
    }
    // Both branches are exercised: many mutations stay valid (fast path), many are rejected.
    expect(fast).toBeGreaterThan(2000);
    expect(rejected).toBeGreaterThan(5000);
  });

  it('compiles a payload fast path for the high-rate intents (else they silently fall back to zod)', () => {
    for (const intent of ['voice.audio.pcm', 'voice.audio.rtp', 'voice.play.pcm', 'voice.play.pcm.out', 'voice.play.opus', 'voice.control.set-bitrate']) {
      expect(compileFastParse(PAYLOAD_SCHEMAS[intent as keyof typeof PAYLOAD_SCHEMAS]), intent).toBeDefined();
    }
  });

  it('accepts no envelope that zod rejects, and copies nested values instead of sharing them', () => {
    const input = inputs.find((e) => e.intent === 'voice.audio.pcm')!;
    const auth = { sub: 'u', roles: ['r'], scopes: [], extra: 1 };
    const models = [{ name: 'm', version: '1' }];
    const env: Record<string, unknown> = { ...structuredClone(input), auth, models };
    const out = acceptEnvelopeFast(env)!;
    expect(out).toStrictEqual(parseEnvelopeWithZod(structuredClone(env)));
    expect(out.auth).toStrictEqual({ sub: 'u', roles: ['r'], scopes: [] });
    expect(out.auth).not.toBe(auth);
    expect(out.auth?.roles).not.toBe(auth.roles);
    expect(out.models).not.toBe(models);
    expect(acceptEnvelopeFast({ ...env, dst: `${env.dst as string}.x` })).toBeUndefined();
    expect(acceptEnvelopeFast({ ...env, surprise: 1 })).toBeUndefined();
  });
});
