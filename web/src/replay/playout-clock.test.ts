import { describe, expect, it } from 'vitest';
import { frameToNs, playoutPair } from './playout-clock.ts';

describe('playoutPair', () => {
  const base = {
    newest: { rtp: 96_000, ns: 10_000_000_000n },
    timeOriginMs: 1_700_000_000_000,
    output: { contextTime: 2, performanceTime: 5000 },
    sampleRate: 48_000,
  };

  it('the played-out RTP timestamp 960 ticks behind the newest is 20 ms earlier; its playout time maps to the context frame', () => {
    // Played at performance 5100 ms (epoch form): 100 ms after the output timestamp → context 2.1 s.
    const p = playoutPair({ ...base, sync: { rtpTimestamp: 95_040, timestamp: 1_700_000_005_100 } });
    expect(p.ns).toBe(9_980_000_000n);
    expect(p.frame).toBe(Math.round(2.1 * 48_000));
  });

  it('takes a performance-clock timestamp as is, and a timestamp across the 32-bit wrap as a small step', () => {
    const p = playoutPair({ ...base, newest: { rtp: 100, ns: 10_000_000_000n }, sync: { rtpTimestamp: 0xffff_ffff - 859, timestamp: 4900 } });
    expect(p.ns).toBe(10_000_000_000n - 20_000_000n);
    expect(p.frame).toBe(Math.round(1.9 * 48_000));
  });

  it('frameToNs() counts frames at the context rate from the pair', () => {
    expect(frameToNs({ frame: 48_000, ns: 5_000_000_000n }, 96_000, 48_000)).toBe(6_000_000_000n);
    expect(frameToNs({ frame: 48_000, ns: 5_000_000_000n }, 0, 48_000)).toBe(4_000_000_000n);
  });
});
