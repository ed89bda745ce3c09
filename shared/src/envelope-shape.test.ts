/**
 * A shape match must accept exactly what the full check (JSON.parse + parseEnvelope) accepts and
 * return the same envelope. Checked differentially: every golden envelope is learned, then mutated
 * (each scalar value replaced by valid and invalid alternatives, keys added, removed and reordered,
 * random bytes flipped); for every mutation, a match must agree with the full check.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EnvelopeShape, EnvelopeShapeCache } from './envelope-shape.ts';
import { parseEnvelope } from './envelope.ts';
import { uuidv7 } from './ids.ts';

const DIR = new URL('../fixtures/golden/', import.meta.url);
const goldens = readdirSync(DIR)
  .filter((f) => f.endsWith('.in.json'))
  .map((f) => ({ name: f, value: JSON.parse(readFileSync(new URL(f, DIR), 'utf8')) as Record<string, unknown> }));
const bytes = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));

/** The full check's answer: the envelope, or 'rejected'. */
function full(b: Uint8Array): unknown {
  try {
    return parseEnvelope(JSON.parse(new TextDecoder().decode(b)));
  } catch {
    return 'rejected';
  }
}

/** Paths of every string and number in `v`. */
function leaves(v: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(v)) return v.flatMap((x, i) => leaves(x, [...path, i]));
  if (typeof v === 'object' && v !== null) return Object.entries(v).flatMap(([k, x]) => leaves(x, [...path, k]));
  return typeof v === 'string' || typeof v === 'number' ? [path] : [];
}

function setAt(v: unknown, path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(v) as Record<string | number, unknown>;
  let node = copy;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  node[path.at(-1)!] = value;
  return copy;
}

function alternatives(old: unknown): unknown[] {
  if (typeof old === 'number') {
    return [old + 1, old - 1, 0, -1, 1.5, 2 ** 53, 123456789012345, 1e21, old * 1000, 65535, 65536, 4294967295, 4294967296];
  }
  const s = old as string;
  return [
    s + 'x',
    s.slice(0, -1),
    '',
    'x'.repeat(129),
    'x'.repeat(300),
    s.replace(/.$/, 'Z'),
    uuidv7(),
    '2026-11-30T12:00:00.000Z',
    '2026-02-30T12:00:00.000Z',
    'a"b',
    'a\\b',
    'é',
    'voice.audio.pcm',
    '42',
    ' ',
  ];
}

describe('envelope shapes', () => {
  it('agree with the full check on every mutation of every golden envelope', () => {
    let learned = 0;
    let mutations = 0;
    let hits = 0;
    let changedHits = 0;
    for (const g of goldens) {
      if (full(bytes(g.value)) === 'rejected') continue;
      const shape = EnvelopeShape.learn(bytes(g.value), g.value);
      if (!shape) continue;
      learned++;
      expect(shape.match(bytes(g.value)), g.name).toEqual(full(bytes(g.value)));
      const variants: unknown[] = [];
      for (const path of leaves(g.value)) {
        const old = path.reduce<unknown>((n, k) => (n as Record<string | number, unknown>)[k], g.value);
        for (const alt of alternatives(old)) variants.push(setAt(g.value, path, alt));
      }
      variants.push({ ...g.value, extra: 1 }, { ...g.value, corr: 'c-1' }, Object.fromEntries(Object.entries(g.value).reverse()));
      for (const k of Object.keys(g.value)) variants.push(Object.fromEntries(Object.entries(g.value).filter(([key]) => key !== k)));
      for (const v of variants) {
        const b = bytes(v);
        const expected = full(b);
        const got = shape.match(b);
        mutations++;
        if (got === undefined) continue;
        hits++;
        if (JSON.stringify(v) !== JSON.stringify(g.value)) changedHits++;
        expect(expected, `${g.name}: accepted ${JSON.stringify(v)}`).not.toBe('rejected');
        expect(got, `${g.name}: ${JSON.stringify(v)}`).toEqual(expected);
      }
    }
    expect(learned).toBeGreaterThanOrEqual(20);
    expect(mutations).toBeGreaterThan(1000);
    // The fast path is taken for value changes, not only for identical bytes.
    expect(changedHits).toBeGreaterThan(100);
    expect(hits).toBeLessThan(mutations);
  });

  it('agree with the full check when random bytes are flipped', () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    let hits = 0;
    for (const g of goldens) {
      const base = bytes(g.value);
      if (full(base) === 'rejected') continue;
      const shape = EnvelopeShape.learn(base, g.value);
      if (!shape) continue;
      for (let k = 0; k < 300; k++) {
        const b = base.slice();
        for (let f = 1 + rand(3); f > 0; f--) b[rand(b.length)] = rand(2) ? 0x30 + rand(10) : rand(256);
        const got = shape.match(b);
        if (got === undefined) continue;
        hits++;
        const expected = full(b);
        expect(expected).not.toBe('rejected');
        expect(got).toEqual(expected);
      }
    }
    expect(hits).toBeGreaterThan(0);
  });

  it('accepts a PCM stream after one full check and refuses an out-of-range value', () => {
    const frame = (seq: number, timestamp: number): Record<string, unknown> => ({
      id: uuidv7(),
      ts: new Date(Date.UTC(2026, 10, 30, 12, 0, 0, seq)).toISOString(),
      src: 'bridge',
      dst: 'promethean.p.discord.t.demo.voice.audio.pcm',
      provider: 'discord',
      tenant: 'demo',
      intent: 'voice.audio.pcm',
      payload: goldens.find((g) => g.name === 'voice.audio.pcm.in.json')!.value.payload,
      corr: String(seq),
      attachments: [{ bytes: 1920 }],
    });
    const cache = new EnvelopeShapeCache();
    const first = frame(1, 960);
    expect(cache.match(bytes(first))).toBeUndefined();
    cache.learn(bytes(first), first);
    for (let seq = 2; seq < 50; seq++) {
      const f = frame(seq, seq * 960);
      expect(cache.match(bytes(f))).toEqual(parseEnvelope(f));
    }
    expect(cache.hits).toBe(48);
    const bad = setAt(frame(51, 0), ['attachments', 0, 'bytes'], -5);
    expect(cache.match(bytes(bad))).toBeUndefined();
    expect(full(bytes(bad))).toBe('rejected');
  });
});
