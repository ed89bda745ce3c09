import { describe, expect, it } from 'vitest';
import { mixOutputs } from './mix.ts';

describe('mixOutputs', () => {
  it('plays everyone at their volume by default', () => {
    expect(mixOutputs({ b: { volume: 0.4, muted: false, solo: false } }, ['a', 'b'])).toEqual({
      a: { volume: 1, muted: false },
      b: { volume: 0.4, muted: false },
    });
  });

  it('solo silences everyone else; two solos are both heard', () => {
    const out = mixOutputs({ a: { volume: 1, muted: false, solo: true }, c: { volume: 1, muted: false, solo: true } }, ['a', 'b', 'c']);
    expect(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.muted]))).toEqual({ a: false, b: true, c: false });
  });

  it('mute wins over solo', () => {
    expect(mixOutputs({ a: { volume: 1, muted: true, solo: true } }, ['a', 'b'])).toEqual({ a: { volume: 1, muted: true }, b: { volume: 1, muted: true } });
  });

  it('a solo on someone not in the session does not silence the session', () => {
    expect(mixOutputs({ z: { volume: 1, muted: false, solo: true } }, ['a']).a!.muted).toBe(false);
  });

  it('clamps volume and treats NaN as full volume', () => {
    const out = mixOutputs({ a: { volume: 3, muted: false, solo: false }, b: { volume: -1, muted: false, solo: false }, c: { volume: Number.NaN, muted: false, solo: false } }, ['a', 'b', 'c']);
    expect([out.a!.volume, out.b!.volume, out.c!.volume]).toEqual([1, 0, 1]);
  });
});
