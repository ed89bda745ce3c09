import { describe, expect, it } from 'vitest';
import { TokenBucket } from './rate.ts';

describe('TokenBucket', () => {
  it('allows a burst, then the rate, refilled from the clock', () => {
    let now = 0;
    const b = new TokenBucket(10, 3, () => now);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
    now += 100; // one token per 100 ms
    expect([b.take(), b.take()]).toEqual([true, false]);
    now += 10_000; // never more than the burst
    expect([b.take(3), b.take()]).toEqual([true, false]);
  });

  it('refuses a take larger than what is there without taking anything', () => {
    let now = 0;
    const b = new TokenBucket(1000, 1000, () => now);
    expect(b.take(1500)).toBe(false);
    expect(b.take(1000)).toBe(true);
    now += 500;
    expect(b.take(400)).toBe(true);
  });
});
