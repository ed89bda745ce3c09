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

describe('voice.members', () => {
  const members = (p: Record<string, unknown>) => p.members as Array<Record<string, unknown>>;
  const cases: Array<[string, (p: Record<string, unknown>) => void, string]> = [
    ['a join without user_id', (p) => (p.change = { kind: 'join' }), 'payload.change.user_id'],
    ['an unknown change kind', (p) => (p.change = { kind: 'moved', user_id: '1' }), 'payload.change.kind'],
    ['an empty display_name', (p) => (members(p)[0]!.display_name = ''), 'payload.members.0.display_name'],
    ['an avatar_url that is not http(s)', (p) => (members(p)[0]!.avatar_url = 'javascript:alert(1)'), 'payload.members.0.avatar_url'],
    ['a member without self_mute', (p) => delete members(p)[1]!.self_mute, 'payload.members.1.self_mute'],
    ['bot as a string', (p) => (members(p)[3]!.bot = 'yes'), 'payload.members.3.bot'],
  ];
  for (const [name, mutate, path] of cases) {
    it(`rejects ${name} with a schema error at ${path}`, () => {
      const env = load('voice.members.in.json');
      mutate(env.payload);
      expect(pathOfRejection(env)).toBe(path);
    });
  }

  it('accepts a snapshot without user_id, an empty channel and a null avatar_url', () => {
    const env = load('voice.members.in.json');
    env.payload.change = { kind: 'snapshot' };
    env.payload.members = [];
    delete env.payload.guild_name;
    expect(pathOfRejection(env)).toBeUndefined();
  });
});

describe('voice.listeners', () => {
  it('rejects a negative or fractional count and a missing session_id', () => {
    for (const [mutate, path] of [
      [(p: Record<string, unknown>) => (p.count = -1), 'payload.count'],
      [(p: Record<string, unknown>) => (p.count = 1.5), 'payload.count'],
      [(p: Record<string, unknown>) => delete p.session_id, 'payload.session_id'],
    ] as const) {
      const env = load('voice.listeners.in.json');
      mutate(env.payload);
      expect(pathOfRejection(env)).toBe(path);
    }
  });
});
