import { describe, expect, it } from 'vitest';
import { backoffDelay, defaultBackoffOptions } from './backoff.ts';

describe('backoffDelay', () => {
  const noJitter = { ...defaultBackoffOptions, jitter: 0 };

  it('doubles from initialMs and stops growing at maxMs', () => {
    const delays = [0, 1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, noJitter));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it('never exceeds maxMs, even with the largest jitter and absurd attempt counts', () => {
    for (const attempt of [0, 3, 10, 60, 1e6, Infinity]) {
      expect(backoffDelay(attempt, defaultBackoffOptions, () => 0.999999)).toBeLessThanOrEqual(defaultBackoffOptions.maxMs);
    }
  });

  it('spreads by ±jitter around the base delay', () => {
    expect(backoffDelay(1, defaultBackoffOptions, () => 0)).toBe(800);
    expect(backoffDelay(1, defaultBackoffOptions, () => 0.5)).toBe(1000);
    expect(backoffDelay(1, defaultBackoffOptions, () => 0.999999)).toBe(1200);
  });

  it('treats negative or NaN attempts as the first', () => {
    expect(backoffDelay(-3, noJitter)).toBe(500);
    expect(backoffDelay(Number.NaN, noJitter)).toBe(500);
  });
});
