import { describe, expect, it } from 'vitest';
import { isKnownIntent, makeEnvelope, parseEnvelope } from './envelope.ts';
import { PrometheanError } from './errors.ts';
import { decodeFrame, encodeFrame } from './frame.ts';

const base = {
  id: '019a4f3c-5d2e-7a10-8b3c-4d5e6f708192',
  ts: '2026-11-22T08:00:00.000Z',
  src: 'stt-worker',
  dst: 'promethean.p.discord.t.demo.custom.thing',
  provider: 'discord',
  tenant: 'demo',
  intent: 'custom.thing',
  payload: { anything: [1, 2, 3] },
};

function errorOf(raw: unknown): PrometheanError {
  try {
    parseEnvelope(raw);
  } catch (error) {
    if (error instanceof PrometheanError) return error;
    throw error;
  }
  throw new Error('expected parseEnvelope to throw');
}

describe('parseEnvelope()', () => {
  it('passes an unknown intent through with its payload untouched', () => {
    expect(isKnownIntent('custom.thing')).toBe(false);
    expect(parseEnvelope(structuredClone(base))).toEqual(base);
  });

  it('validates a known intent and applies its defaults', () => {
    const env = {
      ...base,
      dst: 'promethean.p.discord.t.demo.voice.control.join',
      intent: 'voice.control.join',
      payload: { guild_id: '1', channel_id: '2' },
    };
    expect(parseEnvelope(env).payload).toEqual({ guild_id: '1', channel_id: '2', prefer_opus: true, self_mute: false, self_deaf: false });
  });

  it('rejects a dst that is not the topic of (provider, tenant, intent) with topic_mismatch', () => {
    const error = errorOf({ ...base, dst: 'promethean.p.discord.t.other.custom.thing' });
    expect(error.code).toBe('topic_mismatch');
    expect(error.path).toBe('dst');
  });

  it('rejects a trace that is not a W3C traceparent', () => {
    const good = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(parseEnvelope({ ...base, trace: good }).trace).toBe(good);
    for (const trace of ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7', 'xyz', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01']) {
      const error = errorOf({ ...base, trace });
      expect(error.code).toBe('schema');
      expect(error.path).toBe('trace');
    }
  });

  it('rejects an extra top-level field and names it in path', () => {
    const error = errorOf({ ...base, sneaky: true });
    expect(error.code).toBe('schema');
    expect(error.path).toBe('sneaky');
    expect(error.message).toContain('sneaky');
  });

  it('rejects a missing payload, a bad id, a non-UTC or second-precision ts', () => {
    const { payload: _payload, ...noPayload } = base;
    expect(errorOf(noPayload).path).toBe('payload');
    expect(errorOf({ ...base, id: '0190f2a4-7c1e-4a3b-8d2e-1f2a3b4c5d6e' }).path).toBe('id');
    expect(errorOf({ ...base, ts: '2026-11-22T08:00:00Z' }).path).toBe('ts');
    expect(errorOf({ ...base, ts: '2026-11-22T08:00:00.000+01:00' }).path).toBe('ts');
  });

  it('rejects bad provider/tenant tokens and bad intents', () => {
    expect(errorOf({ ...base, tenant: 'De mo' }).path).toBe('tenant');
    expect(errorOf({ ...base, intent: 'custom..thing' }).path).toBe('intent');
    expect(errorOf({ ...base, intent: 'custom.>' }).path).toBe('intent');
  });

  it('rejects non-objects with schema', () => {
    for (const raw of [null, 42, 'x', [base]]) expect(errorOf(raw).code).toBe('schema');
  });

  it('rejects a known intent with a bad payload, naming payload.<field>', () => {
    const error = errorOf({
      ...base,
      dst: 'promethean.p.discord.t.demo.voice.control.set-bitrate',
      intent: 'voice.control.set-bitrate',
      payload: { session_id: 's', bitrate: 1 },
    });
    expect(error.code).toBe('schema');
    expect(error.path).toBe('payload.bitrate');
  });
});

describe('makeEnvelope()', () => {
  it('builds an envelope that parseEnvelope() accepts, also through a binary frame', () => {
    const env = makeEnvelope('voice.control.leave', { guild_id: '42' }, {
      src: 'cli:tap',
      provider: 'discord',
      tenant: 'demo',
      corr: 'c-1',
    });
    expect(env.dst).toBe('promethean.p.discord.t.demo.voice.control.leave');
    expect(parseEnvelope(env)).toEqual(env);
    const decoded = decodeFrame(encodeFrame(env, [Uint8Array.of(1, 2)]));
    expect(parseEnvelope(decoded.header)).toEqual({ ...env, attachments: [{ bytes: 2 }] });
  });
});
