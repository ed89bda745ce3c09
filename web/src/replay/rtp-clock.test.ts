import { describe, expect, it } from 'vitest';
import { epochNs, RtpUnwrapper, SessionClockMap } from './rtp-clock.ts';

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
});
