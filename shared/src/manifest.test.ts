import { describe, expect, it } from 'vitest';
import { PrometheanError } from './errors.ts';
import {
  IdempotencyKeyError,
  idempotencyPlaceholders,
  manifestTopics,
  parseManifest,
  parseManifestYaml,
  parseYamlConfig,
  renderIdempotencyKey,
} from './manifest.ts';
import { checkEffect } from './policy.ts';

const STT = `
id: stt-worker
kind: worker
version: 0.1.0
binds: { provider: "*", tenants: ["*"] }
inputs:
  - voice.audio.segment
outputs:
  - duck.transcript.segment
capabilities:
  - fs.read:data/segments
  - llm.complete
health_interval_s: 5
durability: stateless
idempotency_key: "{session_id}:{segment_id}"
`;

const VOICE_ACCESS = `
agent:
  id: discord-voice-access
  kind: access
  version: 0.1.0
  binds: { provider: discord, tenants: [demo] }
  inputs:
    - voice.control.(join|leave|set-bitrate)
    - voice.play.(pcm|opus)
  outputs:
    - voice.state.connected
    - voice.health
    - voice.audio.(rtp|pcm)
  capabilities:
    - provider.discord.voice
`;

function manifestError(fn: () => unknown): PrometheanError {
  try {
    fn();
  } catch (error) {
    if (error instanceof PrometheanError) return error;
    throw error;
  }
  throw new Error('expected a bad_manifest error');
}

describe('parseManifestYaml()', () => {
  it('parses a stateless worker and applies defaults', () => {
    const m = parseManifestYaml(STT);
    expect(m).toMatchObject({
      id: 'stt-worker',
      kind: 'worker',
      version: '0.1.0',
      binds: { provider: '*', tenants: ['*'] },
      inputs: ['voice.audio.segment'],
      outputs: ['duck.transcript.segment'],
      health_interval_s: 5,
      durability: 'stateless',
      idempotency_key: '{session_id}:{segment_id}',
      config: {},
    });
    expect(m.capabilities.map((c) => c.raw)).toEqual(['fs.read:data/segments', 'llm.complete']);
  });

  it('accepts the seeds\' form under `agent:` and expands alternations in inputs and outputs', () => {
    const m = parseManifestYaml(VOICE_ACCESS);
    expect(m.inputs).toEqual(['voice.control.join', 'voice.control.leave', 'voice.control.set-bitrate', 'voice.play.pcm', 'voice.play.opus']);
    expect(m.outputs).toEqual(['voice.state.connected', 'voice.health', 'voice.audio.rtp', 'voice.audio.pcm']);
    expect(m.durability).toBe('stateful');
    expect(m.health_interval_s).toBe(10);
  });

  it('manifestTopics() builds topic patterns over the binds', () => {
    const access = parseManifestYaml(VOICE_ACCESS);
    expect(manifestTopics(access, 'outputs')).toEqual([
      'promethean.p.discord.t.demo.voice.state.connected',
      'promethean.p.discord.t.demo.voice.health',
      'promethean.p.discord.t.demo.voice.audio.rtp',
      'promethean.p.discord.t.demo.voice.audio.pcm',
    ]);
    expect(manifestTopics(parseManifestYaml(STT), 'inputs')).toEqual(['promethean.p.*.t.*.voice.audio.segment']);
    const two = parseManifestYaml(VOICE_ACCESS.replace('tenants: [demo]', 'tenants: [demo, second]'));
    expect(manifestTopics(two, 'inputs')).toHaveLength(10);
    expect(manifestTopics(two, 'inputs')[5]).toBe('promethean.p.discord.t.second.voice.control.join');
  });

  it('the parsed manifest drives the policy gate', () => {
    const m = parseManifestYaml(VOICE_ACCESS);
    const on = { provider: 'discord', tenant: 'demo' };
    expect(checkEffect(m, { kind: 'bus.subscribe', ...on, intent: 'voice.control.leave' }).allowed).toBe(true);
    expect(checkEffect(m, { kind: 'bus.publish', ...on, intent: 'voice.audio.pcm' }).allowed).toBe(true);
    expect(checkEffect(m, { kind: 'provider', ...on, action: 'voice' }).allowed).toBe(true);
    expect(checkEffect(m, { kind: 'provider', ...on, action: 'rest' }).allowed).toBe(false);
  });

  const bad: Array<[string, string, string, RegExp]> = [
    ['a worker declaring a provider capability', STT.replace('- llm.complete', '- provider.discord.rest'), 'capabilities.1', /only for agents of kind access/],
    ['an unknown kind', STT.replace('kind: worker', 'kind: stateless-worker'), 'kind', /kind/],
    ['a bad version', STT.replace('version: 0.1.0', 'version: one'), 'version', /semantic version/],
    ['a bad id', STT.replace('id: stt-worker', 'id: STT worker'), 'id', /id/],
    ['an unbalanced alternation', STT.replace('- voice.audio.segment', '- voice.audio.(segment|pcm'), 'inputs.0', /unbalanced/],
    ['a non-intent output', STT.replace('- duck.transcript.segment', '- "duck transcript"'), 'outputs.0', /not an intent pattern/],
    ['a stateless worker without idempotency_key', STT.replace('idempotency_key: "{session_id}:{segment_id}"', ''), 'idempotency_key', /needs an idempotency_key/],
    ['a constant idempotency key', STT.replace('{session_id}:{segment_id}', 'always'), 'idempotency_key', /at least one/],
    ['an unknown top-level field', `${STT}\nhealth_interval: 3\n`, 'health_interval', /health_interval/],
    ['a zero health interval', STT.replace('health_interval_s: 5', 'health_interval_s: 0'), 'health_interval_s', /health_interval_s/],
    ['an fs capability escaping its root', STT.replace('fs.read:data/segments', 'fs.read:data/../../etc'), 'capabilities.0', /escapes/],
    ['an access agent bound to every provider', VOICE_ACCESS.replace('provider: discord', 'provider: "*"'), 'agent.binds.provider', /one concrete provider/],
    ['an access capability for another provider', VOICE_ACCESS.replace('provider.discord.voice', 'provider.reddit.voice'), 'agent.capabilities.0', /does not bind/],
    ['binds with an empty tenant list', STT.replace('tenants: ["*"]', 'tenants: []'), 'binds.tenants', /tenants/],
  ];
  for (const [name, text, path, message] of bad) {
    it(`rejects ${name} with bad_manifest at ${path}`, () => {
      const error = manifestError(() => parseManifestYaml(text));
      expect(error.code).toBe('bad_manifest');
      expect(error.path).toBe(path);
      expect(error.message).toMatch(message);
      expect(error.message).toMatch(/^agent\.yml: /);
    });
  }

  it('names the line of the bad field', () => {
    const error = manifestError(() => parseManifestYaml(STT.replace('- llm.complete', '- provider.discord.rest'), 'stt/agent.yml'));
    expect(error.message).toMatch(/^stt\/agent\.yml: .*\(line 12\)/);
  });

  it('reports YAML syntax errors with their line number', () => {
    const error = manifestError(() => parseManifestYaml('id: a\nkind: worker\ninputs: [a, b\nversion: 0.1.0\n'));
    expect(error.code).toBe('bad_manifest');
    expect(error.message).toMatch(/YAML syntax error at line \d+, column \d+/);
    const dup = manifestError(() => parseManifestYaml('id: a\nid: b\n'));
    expect(dup.message).toMatch(/line 2/);
  });

  it('rejects a document that is not a mapping', () => {
    for (const text of ['', '- a\n- b\n', 'just text']) expect(manifestError(() => parseManifestYaml(text)).code).toBe('bad_manifest');
  });

  it('parseManifest() validates plain objects too', () => {
    expect(parseManifest({ id: 'a', kind: 'worker', version: '1.2.3' }).inputs).toEqual([]);
    expect(manifestError(() => parseManifest({ id: 'a', kind: 'worker' })).path).toBe('version');
  });

  it('parseYamlConfig() refuses alias bombs', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdefgh'.split('').map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcdefg'[i]}`).join(', ')}]`)].join('\n');
    const error = manifestError(() => parseYamlConfig(bomb, 'bad_config', 'bomb.yml'));
    expect(error.code).toBe('bad_config');
    expect(error.message).toMatch(/^bomb\.yml: /);
  });
});

describe('idempotency keys', () => {
  it('idempotencyPlaceholders() lists the fields in order', () => {
    expect(idempotencyPlaceholders('{session_id}:{segment_id}')).toEqual(['session_id', 'segment_id']);
    expect(idempotencyPlaceholders('seg/{rtp.ssrc}#{rtp.seq}')).toEqual(['rtp.ssrc', 'rtp.seq']);
  });

  it('idempotencyPlaceholders() rejects implausible templates', () => {
    for (const bad of ['', 'constant', '{session_id', 'session_id}', '{}', '{ session_id }', '{a}{a}', '{{a}}', '{a} {b}', '{a-b}', '{a..b}']) {
      const error = manifestError(() => idempotencyPlaceholders(bad));
      expect(error.code, bad).toBe('bad_manifest');
      expect(error.path).toBe('idempotency_key');
    }
  });

  it('renderIdempotencyKey() fills placeholders from the payload, nested paths included', () => {
    expect(renderIdempotencyKey('{session_id}:{segment_id}', { session_id: 'vs-01', segment_id: 'seg-7', text: 'x' })).toBe('vs-01:seg-7');
    expect(renderIdempotencyKey('{user_id}/{rtp.seq}', { user_id: '42', rtp: { seq: 0 } })).toBe('42/0');
  });

  it('renderIdempotencyKey() throws IdempotencyKeyError naming a missing, empty or non-scalar field', () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ session_id: 'a' }, 'segment_id', /is missing/],
      [{ session_id: 'a', segment_id: '' }, 'segment_id', /is empty/],
      [{ session_id: 'a', segment_id: null }, 'segment_id', /is null/],
      [{ session_id: { x: 1 }, segment_id: 's' }, 'session_id', /is a object/],
      [{ session_id: 'a', segment_id: Number.NaN }, 'segment_id', /is a number/],
      [null, 'session_id', /is missing/],
      ['text', 'session_id', /is missing/],
    ];
    for (const [payload, field, message] of cases) {
      const error = manifestError(() => renderIdempotencyKey('{session_id}:{segment_id}', payload));
      expect(error).toBeInstanceOf(IdempotencyKeyError);
      expect((error as IdempotencyKeyError).field).toBe(field);
      expect(error.path).toBe(`payload.${field}`);
      expect(error.message).toMatch(message);
    }
    // Inherited properties are not payload fields.
    expect(() => renderIdempotencyKey('{constructor}', {})).toThrow(IdempotencyKeyError);
  });
});
