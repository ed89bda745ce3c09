import { describe, expect, it } from 'vitest';
import { PrometheanError } from './errors.ts';
import {
  assertEffect,
  checkEffect,
  isWithin,
  kindMayHold,
  normalizePath,
  parseCapability,
  patternCovers,
  type Effect,
  type PolicySubject,
} from './policy.ts';

function subject(overrides: Partial<PolicySubject> & { caps?: string[] } = {}): PolicySubject {
  const { caps = [], ...rest } = overrides;
  return {
    id: 'stt-worker',
    kind: 'worker',
    binds: { provider: '*', tenants: ['*'] },
    inputs: ['voice.audio.segment'],
    outputs: ['duck.transcript.segment'],
    capabilities: caps.map(parseCapability),
    ...rest,
  };
}

function denial(agent: PolicySubject, effect: Effect): PrometheanError {
  const decision = checkEffect(agent, effect);
  if (decision.allowed) throw new Error(`expected a denial, allowed by ${decision.by}`);
  expect(decision.error).toBeInstanceOf(PrometheanError);
  expect(decision.error.code).toBe('forbidden');
  return decision.error;
}

describe('normalizePath()', () => {
  const cases: Array<[string, string | undefined]> = [
    ['/var/promethean/tmp', '/var/promethean/tmp'],
    ['/var//promethean/./tmp/', '/var/promethean/tmp'],
    ['/var/promethean/tmp/../x', '/var/promethean/x'],
    ['/..', undefined],
    ['/a/../../etc/passwd', undefined],
    ['data/segments/../tts', 'data/tts'],
    ['data/..', '.'],
    ['../outside', undefined],
    ['data\\..\\..\\windows', undefined],
    ['data\\tts\\a.pcm', 'data/tts/a.pcm'],
    ['/data/a\0b', undefined],
    ['', undefined],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} → ${String(expected)}`, () => expect(normalizePath(input)).toBe(expected));
  }

  it('isWithin() compares whole segments and never mixes absolute and relative', () => {
    expect(isWithin('/data/tmp/x', '/data/tmp')).toBe(true);
    expect(isWithin('/data/tmp', '/data/tmp')).toBe(true);
    expect(isWithin('/data/tmpfoo', '/data/tmp')).toBe(false);
    expect(isWithin('data/tmp/x', '/data/tmp')).toBe(false);
    expect(isWithin('/anything', '/')).toBe(true);
    expect(isWithin('data/x', '.')).toBe(true);
  });
});

describe('parseCapability()', () => {
  it('parses each capability family', () => {
    expect(parseCapability('provider.discord.voice')).toEqual({ kind: 'provider', raw: 'provider.discord.voice', provider: 'discord', action: 'voice' });
    expect(parseCapability('fs.write:/var/promethean/tmp/**')).toMatchObject({ kind: 'fs.write', prefix: '/var/promethean/tmp' });
    expect(parseCapability('fs.read:data/./segments/')).toMatchObject({ kind: 'fs.read', prefix: 'data/segments' });
    expect(parseCapability('bus.publish:voice.play.(pcm|opus)')).toMatchObject({ kind: 'bus.publish', patterns: ['voice.play.pcm', 'voice.play.opus'] });
    expect(parseCapability('llm.complete:qwen3')).toEqual({ kind: 'generic', raw: 'llm.complete:qwen3', name: 'llm.complete', resource: 'qwen3' });
    expect(parseCapability('http.fetch')).toMatchObject({ kind: 'generic', resource: undefined });
  });

  it('throws bad_manifest for malformed capabilities', () => {
    for (const bad of [
      'provider.discord',
      'provider.*.voice',
      'provider.discord.voice.extra',
      'provider.Discord.voice',
      'fs.read',
      'fs.read:',
      'fs.write:../../etc',
      'fs.write:/data/../../etc',
      'bus.publish:voice.(a|',
      'bus.subscribe:voice.>.x',
      'Shout',
      'llm.complete:',
    ]) {
      let code: string | undefined;
      try {
        parseCapability(bad);
      } catch (error) {
        code = (error as PrometheanError).code;
      }
      expect(code, bad).toBe('bad_manifest');
    }
  });

  it('provider.* capabilities are for access agents only', () => {
    expect(kindMayHold('worker', parseCapability('provider.discord.rest'))).toBe(false);
    expect(kindMayHold('access', parseCapability('provider.discord.rest'))).toBe(true);
    expect(kindMayHold('worker', parseCapability('fs.read:/data'))).toBe(true);
  });
});

describe('patternCovers()', () => {
  it('follows NATS semantics for pattern containment', () => {
    expect(patternCovers('voice.>', 'voice.audio.pcm')).toBe(true);
    expect(patternCovers('voice.>', 'voice.audio.*')).toBe(true);
    expect(patternCovers('voice.>', 'voice.>')).toBe(true);
    expect(patternCovers('voice.>', 'voice')).toBe(false);
    expect(patternCovers('voice.*.pcm', 'voice.audio.pcm')).toBe(true);
    expect(patternCovers('voice.*.pcm', 'voice.*.pcm')).toBe(true);
    expect(patternCovers('voice.*', 'voice.>')).toBe(false);
    expect(patternCovers('voice.audio.pcm', 'voice.audio.*')).toBe(false);
    expect(patternCovers('voice.audio', 'voice.audio.pcm')).toBe(false);
  });
});

describe('checkEffect()', () => {
  const access = subject({
    id: 'discord-voice-access',
    kind: 'access',
    binds: { provider: 'discord', tenants: ['demo'] },
    caps: ['provider.discord.voice'],
  });

  it('allows a provider effect for a bound access agent holding the capability', () => {
    expect(checkEffect(access, { kind: 'provider', provider: 'discord', tenant: 'demo', action: 'voice' })).toEqual({
      allowed: true,
      by: 'provider.discord.voice',
    });
  });

  it('denies provider effects to workers, to other actions, providers and tenants', () => {
    const worker = subject({ caps: [] });
    expect(denial(worker, { kind: 'provider', provider: 'discord', tenant: 'demo', action: 'voice' }).message).toMatch(/only access agents/);
    expect(denial(access, { kind: 'provider', provider: 'discord', tenant: 'demo', action: 'rest' }).message).toMatch(/no provider\.discord\.rest/);
    expect(denial(access, { kind: 'provider', provider: 'discord', tenant: 'other', action: 'voice' }).message).toMatch(/not bound to discord\/other/);
    expect(denial(access, { kind: 'provider', provider: 'reddit', tenant: 'demo', action: 'voice' }).message).toMatch(/not bound/);
  });

  it('provider.<p>.* grants every action of that provider', () => {
    const all = { ...access, capabilities: [parseCapability('provider.discord.*')] };
    expect(checkEffect(all, { kind: 'provider', provider: 'discord', tenant: 'demo', action: 'rest' }).allowed).toBe(true);
  });

  it('fs effects must fall inside a declared prefix of the same direction, after normalisation', () => {
    const agent = subject({ caps: ['fs.write:/var/promethean/tmp/**', 'fs.read:data/segments'] });
    expect(checkEffect(agent, { kind: 'fs.write', path: '/var/promethean/tmp/a/b.wav' }).allowed).toBe(true);
    expect(checkEffect(agent, { kind: 'fs.read', path: './data/segments/s1.pcm' }).allowed).toBe(true);
    expect(denial(agent, { kind: 'fs.write', path: '/var/promethean/tmp/../../etc/passwd' }).message).toMatch(/"\/var\/etc\/passwd"/);
    expect(denial(agent, { kind: 'fs.write', path: '/var/promethean/tmpx/a' }).message).toMatch(/no fs\.write/);
    expect(denial(agent, { kind: 'fs.read', path: '/var/promethean/tmp/a' }).message).toMatch(/no fs\.read/);
    expect(denial(agent, { kind: 'fs.read', path: 'data/segments/../../../etc/passwd' }).message).toMatch(/escapes/);
    expect(denial(agent, { kind: 'fs.read', path: 'data\\segments\\..\\..\\..\\x' }).message).toMatch(/escapes/);
  });

  it('bus effects are allowed by inputs/outputs, health/error, or bus.* capabilities, within binds', () => {
    const agent = subject({ binds: { provider: 'discord', tenants: ['demo'] }, caps: ['bus.publish:voice.play.(pcm|opus)', 'bus.subscribe:voice.audio.>'] });
    const on = { provider: 'discord', tenant: 'demo' };
    expect(checkEffect(agent, { kind: 'bus.publish', ...on, intent: 'duck.transcript.segment' })).toEqual({ allowed: true, by: 'outputs: duck.transcript.segment' });
    expect(checkEffect(agent, { kind: 'bus.publish', ...on, intent: 'health' }).allowed).toBe(true);
    expect(checkEffect(agent, { kind: 'bus.publish', ...on, intent: 'voice.play.opus' })).toEqual({ allowed: true, by: 'bus.publish:voice.play.(pcm|opus)' });
    expect(checkEffect(agent, { kind: 'bus.subscribe', ...on, intent: 'voice.audio.segment' }).allowed).toBe(true);
    expect(checkEffect(agent, { kind: 'bus.subscribe', ...on, intent: 'voice.audio.*' }).allowed).toBe(true);
    expect(denial(agent, { kind: 'bus.subscribe', ...on, intent: 'voice.>' }).message).toMatch(/cover "voice\.>"/);
    expect(denial(agent, { kind: 'bus.publish', ...on, intent: 'voice.audio.pcm' }).message).toMatch(/may not bus\.publish voice\.audio\.pcm/);
    expect(denial(agent, { kind: 'bus.publish', provider: 'discord', tenant: 'other', intent: 'health' }).message).toMatch(/not bound/);
    expect(denial(agent, { kind: 'bus.subscribe', provider: '*', tenant: 'demo', intent: 'voice.audio.pcm' }).message).toMatch(/not bound/);
  });

  it('generic capabilities match by name and, when given, by resource', () => {
    const agent = subject({ caps: ['llm.complete:qwen3', 'http.fetch'] });
    expect(checkEffect(agent, { kind: 'generic', name: 'llm.complete', resource: 'qwen3' }).allowed).toBe(true);
    expect(checkEffect(agent, { kind: 'generic', name: 'http.fetch', resource: 'https://x.invalid' }).allowed).toBe(true);
    expect(denial(agent, { kind: 'generic', name: 'llm.complete', resource: 'gemma3' }).message).toMatch(/llm\.complete:gemma3/);
    expect(denial(agent, { kind: 'generic', name: 'llm.complete' }).message).toMatch(/no llm\.complete capability/);
  });

  it('assertEffect() throws the denial and returns quietly when allowed', () => {
    const agent = subject({ caps: ['fs.read:/data'] });
    expect(() => assertEffect(agent, { kind: 'fs.read', path: '/data/x' })).not.toThrow();
    expect(() => assertEffect(agent, { kind: 'fs.write', path: '/data/x' })).toThrow(/agent "stt-worker" \(worker\) may not fs\.write "\/data\/x"/);
  });
});
