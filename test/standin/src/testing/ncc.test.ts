import { describe, expect, it } from 'vitest';
import { Prng } from '../util/prng.ts';
import { alignedNcc, nccAtLag } from './ncc.ts';

function noise(n: number, seed: number): Float32Array {
  const p = new Prng(seed);
  return Float32Array.from({ length: n }, () => p.next() * 2 - 1);
}

describe('alignedNcc (the metric the end-to-end tests rely on)', () => {
  it('finds a 123-sample delay with NCC 1 for an exact copy', () => {
    const src = noise(20_000, 1);
    const delayed = new Float32Array(20_123);
    delayed.set(src, 123);
    const r = alignedNcc(delayed, src, -480, 4800);
    expect(r.lag).toBe(123);
    expect(r.ncc).toBeCloseTo(1, 6);
  });

  it('scores unrelated noise near 0 and an inverted copy at -1', () => {
    const a = noise(20_000, 2);
    expect(Math.abs(alignedNcc(noise(20_000, 3), a, 0, 0).ncc)).toBeLessThan(0.05);
    expect(nccAtLag(a.map((v) => -v), a, 0)).toBeCloseTo(-1, 6);
  });
});
