import { describe, expect, it } from 'vitest';
import { StreamStats } from './stream-stats.ts';

const MS = 1_000_000n;

describe('StreamStats', () => {
  it('counts no loss across the 16-bit sequence wrap and the 32-bit timestamp wrap', () => {
    const s = new StreamStats();
    let seq = 65530;
    let ts = 0xffffe000;
    const ext: number[] = [];
    for (let i = 0; i < 20; i++) {
      ext.push(s.onPacket(seq, ts, BigInt(i) * 20n * MS).extSeq);
      seq = (seq + 1) & 0xffff;
      ts = (ts + 960) >>> 0;
    }
    const snap = s.snapshot();
    expect(snap.received).toBe(20);
    expect(snap.expected).toBe(20);
    expect(snap.lost).toBe(0);
    expect(ext.at(-1)! - ext[0]!).toBe(19);
    expect(snap.jitterMs).toBeCloseTo(0, 6);
  });

  it('counts exactly the dropped packets as lost and reports loss_pct', () => {
    const s = new StreamStats();
    const dropped = new Set([10, 30, 31, 50, 77]);
    for (let i = 0; i < 100; i++) if (!dropped.has(i)) s.onPacket(i, i * 960, BigInt(i) * 20n * MS);
    const snap = s.snapshot();
    expect(snap.lost).toBe(5);
    expect(s.lost).toBe(5);
    expect(snap.lossPct).toBeCloseTo(5, 6);
  });

  it('counts a packet older than the highest seen as reordered, not lost', () => {
    const s = new StreamStats();
    const order = [0, 1, 2, 4, 5, 3, 6, 7, 9, 8, 10];
    const verdicts = order.map((seq, i) => s.onPacket(seq, seq * 960, BigInt(i) * 20n * MS));
    expect(verdicts.filter((v) => v.reordered).map((v) => v.extSeq)).toEqual([3, 8]);
    const snap = s.snapshot();
    expect(snap.reordered).toBe(2);
    expect(snap.lost).toBe(0);
  });

  it('converges to the RFC 3550 jitter of alternating ±5 ms transit (|D| = 10 ms → J = 10 ms)', () => {
    const s = new StreamStats();
    for (let i = 0; i < 400; i++) {
      const arrival = BigInt(i * 20) * MS + (i % 2 === 0 ? 5n : -5n) * MS + 100n * MS;
      s.onPacket(i, i * 960, arrival);
    }
    expect(s.snapshot().jitterMs).toBeCloseTo(10, 3);
    expect(s.jitterMs).toBe(s.snapshot().jitterMs);
  });

  it('estimates +100 ppm when the sender clock runs 100 ppm fast', () => {
    const s = new StreamStats();
    for (let i = 0; i < 500; i++) {
      const arrivalS = (i * 0.02) / (1 + 100e-6);
      s.onPacket(i & 0xffff, (i * 960) >>> 0, BigInt(Math.round(arrivalS * 1e9)));
    }
    expect(s.snapshot().clockSkewPpm).toBeGreaterThan(95);
    expect(s.snapshot().clockSkewPpm).toBeLessThan(105);
  });

  it('keeps the skew estimate within 20 ppm when random delays (0–40 ms, stalls) are added to arrivals', () => {
    const s = new StreamStats();
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let i = 0; i < 500; i++) {
      const arrivalS = (i * 0.02) / (1 - 300e-6) + rand() * 0.04 + (i % 97 === 0 ? 0.15 : 0);
      s.onPacket(i, i * 960, BigInt(Math.round(arrivalS * 1e9)));
    }
    expect(Math.abs(s.snapshot().clockSkewPpm - -300)).toBeLessThan(20);
  });

  it('does not count a talk-spurt pause (timestamps not advanced) as jitter', () => {
    const s = new StreamStats();
    for (let i = 0; i < 50; i++) s.onPacket(i, i * 960, BigInt(i * 20) * MS);
    for (let i = 50; i < 100; i++) s.onPacket(i, i * 960, BigInt(i * 20 + 3000) * MS);
    expect(s.snapshot().jitterMs).toBeLessThan(1);
  });

  it('treats a sequence jump beyond the dropout limit as a restart and keeps loss totals right', () => {
    const s = new StreamStats();
    for (let i = 0; i < 10; i++) s.onPacket(100 + i, i * 960, BigInt(i * 20) * MS);
    const v = s.onPacket(40000, 10 * 960, 200n * MS);
    expect(v.restarted).toBe(true);
    for (let i = 1; i < 10; i++) if (i !== 5) s.onPacket(40000 + i, (10 + i) * 960, BigInt(200 + i * 20) * MS);
    const snap = s.snapshot();
    expect(snap.received).toBe(19);
    expect(snap.expected).toBe(20);
    expect(snap.lost).toBe(1);
  });

  it('counts a repeated sequence number as a duplicate', () => {
    const s = new StreamStats();
    s.onPacket(5, 0, 0n);
    s.onPacket(6, 960, 20n * MS);
    s.onPacket(6, 960, 21n * MS);
    expect(s.snapshot().duplicates).toBe(1);
    expect(s.snapshot().received).toBe(2);
  });
});
