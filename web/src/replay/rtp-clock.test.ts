import { describe, expect, it } from 'vitest';
import { epochNs, RtpUnwrapper, SessionClockMap, ticksNear } from './rtp-clock.ts';

describe('RtpUnwrapper', () => {
  it('continues across the 32-bit wrap', () => {
    const u = new RtpUnwrapper();
    expect(u.unwrap(0xffff_fc40)).toBe(0xffff_fc40);
    expect(u.unwrap(0x0000_0000)).toBe(0x1_0000_0000);
    expect(u.unwrap(0x0000_03c0)).toBe(0x1_0000_03c0);
  });

  it('a late (reordered) timestamp maps behind, without pulling the clock back', () => {
    const u = new RtpUnwrapper();
    u.unwrap(10_000);
    u.unwrap(10_960);
    expect(u.unwrap(10_000 - 960)).toBe(9040);
    expect(u.unwrap(11_920)).toBe(11_920);
  });

  it('a late timestamp just before a wrap maps before it', () => {
    const u = new RtpUnwrapper();
    u.unwrap(0xffff_ff00);
    u.unwrap(0x0000_0100);
    expect(u.unwrap(0xffff_ff80)).toBe(0xffff_ff80);
  });
});

describe('SessionClockMap', () => {
  it('maps ticks to ns at 48 kHz from its anchor, both ways, before and after it', () => {
    const m = new SessionClockMap();
    m.anchorAt(48_000, 5_000_000_000n, 'receive');
    expect(m.toNs(96_000)).toBe(6_000_000_000n);
    expect(m.toNs(0)).toBe(4_000_000_000n);
    expect(m.toTicks(6_000_000_000n)).toBe(96_000);
    expect(m.toTicks(4_000_000_000n)).toBe(0);
    // Rounds toward −∞: 1 ns before the anchor is the tick before it.
    expect(m.toTicks(4_999_999_999n)).toBe(47_999);
  });

  it('a relay anchor replaces a receive anchor, never the other way round', () => {
    const m = new SessionClockMap();
    m.anchorAt(0, 1n, 'receive');
    m.anchorAt(0, 2n, 'receive');
    expect(m.anchor).toEqual({ ticks: 0, ns: 1n, source: 'receive' });
    m.anchorAt(0, 3n, 'relay');
    m.anchorAt(0, 4n, 'receive');
    expect(m.anchor).toEqual({ ticks: 0, ns: 3n, source: 'relay' });
  });

  it('throws RangeError with no anchor', () => {
    expect(() => new SessionClockMap().toNs(0)).toThrow(RangeError);
  });

  it('epochNs() adds the time origin and keeps microseconds', () => {
    expect(epochNs(1_700_000_000_000, 1.5)).toBe(1_700_000_000_001_500_000n);
  });

  it('relay anchors map piecewise: each tick through the newest relay anchor at or before it, both ways', () => {
    const m = new SessionClockMap();
    m.anchorAt(0, 1_700_000_000_000_000_000n, 'receive');
    // the bridge re-based a talk-spurt at tick 96,000: 20 ms later on its clock than the first piece predicts
    m.anchorAt(0, 10_000_000_000n, 'relay');
    m.anchorAt(96_000, 12_020_000_000n, 'relay');
    expect(m.source).toBe('relay');
    expect(m.toNs(48_000)).toBe(11_000_000_000n);
    expect(m.toNs(95_040)).toBe(11_980_000_000n);
    expect(m.toNs(96_000)).toBe(12_020_000_000n);
    expect(m.toNs(144_000)).toBe(13_020_000_000n);
    expect(m.toTicks(11_000_000_000n)).toBe(48_000);
    expect(m.toTicks(13_020_000_000n)).toBe(144_000);
    // the receive anchor still places new streams by receive time
    expect(m.receiveTicks(1_700_000_001_000_000_000n)).toBe(48_000);
  });

  it('a late relay anchor also maps the ticks received before it (through the oldest relay anchor)', () => {
    const m = new SessionClockMap();
    m.anchorAt(1_000, 1_700_000_000_000_000_000n, 'receive');
    expect(m.toNs(49_000)).toBe(1_700_000_001_000_000_000n);
    m.anchorAt(97_000, 5_000_000_000n, 'relay');
    expect(m.toNs(49_000)).toBe(4_000_000_000n);
    expect(m.toNs(1_000)).toBe(3_000_000_000n);
    expect(m.toTicks(3_000_000_000n)).toBe(1_000);
  });

  it('keeps at most maxRelayAnchors relay anchors (the newest), sorted, one per tick', () => {
    const m = new SessionClockMap({ maxRelayAnchors: 3 });
    for (const t of [4, 1, 3, 2]) m.anchorAt(t * 48_000, BigInt(t) * 1_000_000_000n, 'relay');
    m.anchorAt(3 * 48_000, 7n, 'relay');
    expect(m.relayAnchors.map((a) => [a.ticks, a.ns])).toEqual([[96_000, 2_000_000_000n], [144_000, 7n], [192_000, 4_000_000_000n]]);
  });
});

describe('ticksNear', () => {
  it('places a relay timestamp next to a known pair, across the 32-bit wrap both ways', () => {
    const u = new RtpUnwrapper();
    u.unwrap(0xffff_f000);
    const ticks = u.unwrap(0x0000_1000); // past the wrap
    expect(ticksNear({ rtp: 0x0000_1000, ticks }, 0xffff_f800)).toBe(ticks - 0x1800);
    expect(ticksNear({ rtp: 0xffff_f000, ticks: 0xffff_f000 }, 0x0000_0400)).toBe(0x1_0000_0400);
  });

  it('refuses a timestamp over maxTicks away (another stream\'s timestamp base)', () => {
    expect(ticksNear({ rtp: 1_000, ticks: 1_000 }, 1_000 + 60 * 48_000 + 1)).toBeUndefined();
    expect(ticksNear({ rtp: 1_000, ticks: 1_000 }, 1_000 + 60 * 48_000)).toBe(1_000 + 60 * 48_000);
  });
});
