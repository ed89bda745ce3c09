import { afterEach, describe, expect, it } from 'vitest';
import { hrtimeClock } from './clock.ts';
import { PlayoutTimer } from './playout-timer.ts';

const MS = 1_000_000n;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PlayoutTimer', () => {
  let timer: PlayoutTimer | undefined;
  afterEach(() => timer?.close());

  it('drains once the earliest due time has passed, never before it, and re-arms for the next due frame', async () => {
    const runs: bigint[] = [];
    const t0 = hrtimeClock.now();
    const dues = [t0 + 30n * MS, t0 + 50n * MS];
    const drainedAt = new Map<bigint, bigint>();
    timer = new PlayoutTimer(hrtimeClock, () => {
      const now = hrtimeClock.now();
      runs.push(now);
      while (dues.length > 0 && dues[0]! <= now) drainedAt.set(dues.shift()!, now);
      return dues[0];
    }, { backstopMs: 10_000 });
    timer.wake(t0 + 50n * MS);
    timer.wake(t0 + 30n * MS); // earlier: re-arms
    timer.wake(t0 + 40n * MS); // later than armed: ignored
    await sleep(150);
    expect(dues).toEqual([]); // both drained without the backstop
    expect(runs[0]!).toBeGreaterThanOrEqual(t0 + 30n * MS); // not before the earliest due
    expect(drainedAt.get(t0 + 50n * MS)!).toBeGreaterThanOrEqual(t0 + 50n * MS);
    // one drain per due frame (two when the loop kept up, one when it stalled past both): none wasted
    expect(runs.length).toBeGreaterThanOrEqual(1);
    expect(runs.length).toBeLessThanOrEqual(2);
  });

  it('keeps draining on the backstop period while nothing is due, and close() stops it (idempotent)', async () => {
    let runs = 0;
    timer = new PlayoutTimer(hrtimeClock, () => void runs++, { backstopMs: 10 });
    await sleep(75);
    expect(runs).toBeGreaterThanOrEqual(3);
    timer.close();
    timer.close();
    const after = runs;
    timer.wake(hrtimeClock.now());
    await sleep(40);
    expect(runs).toBe(after);
  });
});
