import { describe, expect, it } from 'vitest';
import { UnmappedHold, type HeldPacket } from './unmapped-hold.ts';

const MS = 1_000_000n;
const bytes = (n: number) => Uint8Array.of(n);

function drain(hold: UnmappedHold, ssrc: number, nowNs: bigint): Array<{ seq: number; arrivalMs: number; byte: number }> {
  const out: Array<{ seq: number; arrivalMs: number; byte: number }> = [];
  hold.release(ssrc, nowNs, (p: HeldPacket) => out.push({ seq: p.seq, arrivalMs: Number(p.arrivalNs / MS), byte: p.payload[0]! }));
  return out;
}

describe('UnmappedHold', () => {
  it('release() hands back one ssrc’s packets in arrival order with their arrival times, and keeps the others', () => {
    const hold = new UnmappedHold();
    hold.hold(7, 100, 0, bytes(1), 0n);
    hold.hold(8, 500, 0, bytes(9), 5n * MS);
    hold.hold(7, 102, 0, bytes(3), 20n * MS); // reordered on the way: arrival order is kept
    hold.hold(7, 101, 0, bytes(2), 40n * MS);
    expect(drain(hold, 7, 50n * MS)).toEqual([
      { seq: 100, arrivalMs: 0, byte: 1 },
      { seq: 102, arrivalMs: 20, byte: 3 },
      { seq: 101, arrivalMs: 40, byte: 2 },
    ]);
    expect(hold.size).toBe(1);
    expect(hold.has(7)).toBe(false);
    expect(hold.has(8)).toBe(true);
    expect(hold.counters).toMatchObject({ held: 4, released: 3, expired: 0, overflowed: 0 });
  });

  it('drops and counts packets older than maxAgeMs, on arrival of others and on release', () => {
    const hold = new UnmappedHold({ maxAgeMs: 200 });
    const dropped: number[] = [];
    hold.onDrop = (n) => dropped.push(n);
    for (let k = 0; k < 10; k++) hold.hold(7, k, 0, bytes(k), BigInt(k * 20) * MS);
    hold.hold(8, 0, 0, bytes(0), 230n * MS); // drops arrivals before 30 ms (seq 0 and 1)
    expect(hold.counters.expired).toBe(2);
    // at 250 ms a packet that arrived at 50 ms is exactly 200 ms old: kept
    expect(drain(hold, 7, 250n * MS).map((p) => p.seq)).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect(hold.counters.expired).toBe(3);
    expect(dropped.reduce((a, b) => a + b, 0)).toBe(3);
    expect(hold.expire(431n * MS)).toBe(1); // ssrc 8's packet
    expect(hold.size).toBe(0);
  });

  it('keeps at most perSsrc packets of one ssrc (its oldest dropped) and total across all (the oldest dropped)', () => {
    const hold = new UnmappedHold({ perSsrc: 3, total: 5 });
    for (let k = 0; k < 5; k++) hold.hold(7, k, 0, bytes(k), BigInt(k) * MS);
    expect(hold.counters.overflowed).toBe(2);
    hold.hold(8, 50, 0, bytes(50), 10n * MS);
    hold.hold(8, 51, 0, bytes(51), 11n * MS);
    hold.hold(9, 90, 0, bytes(90), 12n * MS); // sixth packet: ssrc 7's seq 2 (the oldest of all) goes
    expect(hold.size).toBe(5);
    expect(hold.counters.overflowed).toBe(3);
    expect(drain(hold, 7, 13n * MS).map((p) => p.seq)).toEqual([3, 4]);
    expect(drain(hold, 8, 13n * MS).map((p) => p.seq)).toEqual([50, 51]);
    expect(drain(hold, 9, 13n * MS).map((p) => p.seq)).toEqual([90]);
  });

  it('reuses its slots: thousands of packets through the hold leave no more than `total` slots behind', () => {
    const hold = new UnmappedHold({ total: 16 });
    for (let k = 0; k < 5000; k++) {
      hold.hold(k % 40, k & 0xffff, 0, bytes(k & 0xff), BigInt(k) * MS);
      if (k % 7 === 0) drain(hold, k % 40, BigInt(k) * MS);
    }
    expect(hold.size).toBeLessThanOrEqual(16);
    const { held, released, expired, overflowed } = hold.counters;
    expect(held).toBe(5000);
    expect(held - released - expired - overflowed).toBe(hold.size);
    expect((hold as unknown as { pool: unknown[] }).pool.length + hold.size).toBeLessThanOrEqual(17);
  });

  it('clear() drops everything, counted as discarded; zero bounds hold nothing and count the packet', () => {
    const hold = new UnmappedHold();
    hold.hold(1, 0, 0, bytes(0), 0n);
    hold.hold(2, 0, 0, bytes(0), 0n);
    hold.clear();
    expect(hold.size).toBe(0);
    expect(hold.counters.discarded).toBe(2);
    const off = new UnmappedHold({ perSsrc: 0 });
    expect(off.hold(1, 0, 0, bytes(0), 0n)).toBe(false);
    expect(off.size).toBe(0);
    expect(off.counters.overflowed).toBe(1);
  });

  it('rejects bounds that are not numbers ≥ 0 with a RangeError', () => {
    expect(() => new UnmappedHold({ maxAgeMs: -1 })).toThrow(RangeError);
    expect(() => new UnmappedHold({ perSsrc: 1.5 })).toThrow(RangeError);
    expect(() => new UnmappedHold({ total: Number.NaN })).toThrow(RangeError);
  });
});
