import { describe, expect, it } from 'vitest';
import { boundedEngineCache } from './engine-cache.ts';

describe('boundedEngineCache', () => {
  it('makes one engine per key and hands the same one back', () => {
    const made: string[] = [];
    const get = boundedEngineCache(4, (s: { tenant: string; guild?: string }) => `${s.tenant}\n${s.guild ?? ''}`, (s) => {
      made.push(`${s.tenant}/${s.guild ?? '-'}`);
      return { tenant: s.tenant, guild: s.guild };
    });
    const a = get({ tenant: 'demo', guild: '1' });
    expect(get({ tenant: 'demo', guild: '1' })).toBe(a);
    const b = get({ tenant: 'demo' });
    expect(b).not.toBe(a);
    expect(get({ tenant: 'demo' })).toBe(b);
    expect(made).toEqual(['demo/1', 'demo/-']);
  });

  it('keeps at most max engines, dropping the one made first', () => {
    let n = 0;
    const get = boundedEngineCache(2, (k: string) => k, (k) => ({ k, n: n++ }));
    const a = get('a');
    const b = get('b');
    get('a'); // a use does not refresh it: the order is the order made
    const c = get('c'); // drops a
    expect(get('b')).toBe(b);
    expect(get('c')).toBe(c);
    expect(n).toBe(3);
    const a2 = get('a'); // made again, drops b
    expect(a2).not.toBe(a);
    expect(a2.n).toBe(3);
    expect(get('c')).toBe(c);
    expect(get('b')).not.toBe(b);
    expect(n).toBe(5);
  });

  it('throws RangeError for a bound that is not a positive integer', () => {
    for (const max of [0, -1, 1.5, Number.NaN]) expect(() => boundedEngineCache(max, String, String)).toThrow(RangeError);
  });
});
