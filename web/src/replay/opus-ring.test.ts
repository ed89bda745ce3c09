import { describe, expect, it } from 'vitest';
import { OpusRing } from './opus-ring.ts';

const frame = (ticks: number, bytes = 10) => ({ ticks, data: new Uint8Array(bytes).fill(ticks % 251) });

describe('OpusRing', () => {
  it('keeps frames in timestamp order (a late frame goes to its place) and ignores a duplicate timestamp', () => {
    const r = new OpusRing();
    for (const t of [0, 960, 2880, 1920, 1920, 3840]) r.push(frame(t));
    expect(r.range(0, 10_000).map((f) => f.ticks)).toEqual([0, 960, 1920, 2880, 3840]);
    expect(r.size).toBe(5);
  });

  it('range() is start-inclusive and end-exclusive', () => {
    const r = new OpusRing();
    for (let t = 0; t < 10 * 960; t += 960) r.push(frame(t));
    expect(r.range(960, 3 * 960).map((f) => f.ticks)).toEqual([960, 1920]);
    expect(r.range(100_000, 200_000)).toEqual([]);
  });

  it('drops what is older than the window behind the newest frame', () => {
    const r = new OpusRing({ windowTicks: 5 * 960 });
    for (let t = 0; t <= 20 * 960; t += 960) r.push(frame(t));
    expect(r.span()).toEqual({ first: 15 * 960, last: 20 * 960 });
    r.push(frame(0)); // far too old: not kept
    expect(r.span()!.first).toBe(15 * 960);
  });

  it('stays within maxFrames and maxBytes, counting what it had to drop', () => {
    const r = new OpusRing({ maxFrames: 100, maxBytes: 1000 });
    for (let t = 0; t < 500; t++) r.push(frame(t * 960, 20));
    expect(r.size).toBeLessThanOrEqual(50);
    expect(r.bytes).toBeLessThanOrEqual(1000);
    expect(r.overflowed).toBe(450);
    expect(r.span()!.last).toBe(499 * 960);
  });

  it('5 minutes of 64 kb/s Opus (20 ms frames, 160 bytes) fit: 15,000 frames, 2.4 MB', () => {
    const r = new OpusRing();
    for (let i = 0; i < 15_000; i++) r.push(frame(i * 960, 160));
    expect(r.size).toBe(15_000);
    expect(r.bytes).toBe(2_400_000);
    expect(r.overflowed).toBe(0);
  });
});
