import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseEnvelope } from '../envelope.ts';
import { PrometheanError } from '../errors.ts';

const DIR = new URL('../../fixtures/golden/', import.meta.url);
const load = (name: string) => JSON.parse(readFileSync(new URL(name, DIR), 'utf8')) as { payload: Record<string, unknown> } & Record<string, unknown>;

function pathOfRejection(env: unknown): string | undefined {
  try {
    parseEnvelope(env);
  } catch (error) {
    if (error instanceof PrometheanError && error.code === 'schema') return error.path;
    throw error;
  }
  return undefined;
}

type Case = [name: string, mutate: (p: Record<string, unknown>) => void, path: string];
const items = (p: Record<string, unknown>) => p.items as Array<Record<string, unknown>>;

const cases: Record<string, Case[]> = {
  'embed.vectors': [
    ['no items', (p) => (p.items = []), 'payload.items'],
    ['257 items', (p) => (p.items = Array.from({ length: 257 }, () => items(p)[0])), 'payload.items'],
    ['a content hash in upper case', (p) => (items(p)[0]!.content_sha256 = String(items(p)[0]!.content_sha256).toUpperCase()), 'payload.items.0.content_sha256'],
    ['a kind with a dot', (p) => (items(p)[1]!.kind = 'message.v2'), 'payload.items.1.kind'],
    ['an empty source id', (p) => (items(p)[0]!.source_id = ''), 'payload.items.0.source_id'],
    ['dims 0', (p) => (p.dims = 0), 'payload.dims'],
    ['an encoding other than f32le', (p) => (p.encoding = 'f16'), 'payload.encoding'],
    ['no attachment index', (p) => delete p.attachment, 'payload.attachment'],
  ],
  'embed.query': [
    ['no texts', (p) => (p.texts = []), 'payload.texts'],
    ['33 texts', (p) => (p.texts = Array.from({ length: 33 }, () => 'x')), 'payload.texts'],
    ['a text of 20,001 characters', (p) => (p.texts = ['x'.repeat(20_001)]), 'payload.texts.0'],
    ['a number among the texts', (p) => (p.texts = [1]), 'payload.texts.0'],
  ],
  'embed.query.result': [
    ['both an attachment and an error', (p) => (p.error = { code: 'internal', message: 'x' }), 'payload.attachment'],
    ['neither an attachment nor an error', (p) => delete p.attachment, 'payload.attachment'],
    ['an error with rows', (p) => {
      delete p.attachment;
      p.error = { code: 'unavailable', message: 'x' };
    }, 'payload.count'],
    ['an unknown error code', (p) => {
      delete p.attachment;
      p.count = 0;
      p.error = { code: 'oops', message: 'x' };
    }, 'payload.error.code'],
  ],
};

describe('embed intents reject bad payloads with a path naming the field', () => {
  for (const [intent, list] of Object.entries(cases)) {
    for (const [name, mutate, path] of list) {
      it(`${intent}: ${name} → ${path}`, () => {
        const env = load(`${intent}.in.json`);
        mutate(env.payload);
        expect(pathOfRejection(env)).toBe(path);
      });
    }
  }

  it('an error result without an attachment is accepted', () => {
    const env = load('embed.query.result.in.json');
    delete env.payload.attachment;
    delete env.attachments;
    env.payload.count = 0;
    env.payload.error = { code: 'unavailable', message: 'the model is loading' };
    expect(pathOfRejection(env)).toBeUndefined();
  });
});
