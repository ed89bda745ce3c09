import { describe, expect, it } from 'vitest';
import { LEVEL_FLOOR_DB, rmsDbfs, SpeakingDetector } from './level.ts';

function sine(amplitude: number, hz: number, n = 4800, rate = 48_000): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = amplitude * Math.sin((2 * Math.PI * hz * i) / rate);
  return out;
}

describe('rmsDbfs', () => {
  it('reads a full-scale sine at −3.01 dBFS and a half-scale one 6.02 dB lower', () => {
    expect(rmsDbfs(sine(1, 1000))).toBeCloseTo(-3.0103, 3);
    expect(rmsDbfs(sine(0.5, 1000))).toBeCloseTo(-9.0309, 3);
  });

  it('reads a full-scale square (DC ±1) at 0 dBFS', () => {
    const square = Float32Array.from({ length: 480 }, (_, i) => (i % 2 ? 1 : -1));
    expect(rmsDbfs(square)).toBeCloseTo(0, 6);
  });

  it('floors silence, empty input and tiny noise at LEVEL_FLOOR_DB; ignores NaN samples', () => {
    expect(rmsDbfs(new Float32Array(480))).toBe(LEVEL_FLOOR_DB);
    expect(rmsDbfs(new Float32Array(0))).toBe(LEVEL_FLOOR_DB);
    expect(rmsDbfs(new Float32Array(480).fill(1e-7))).toBe(LEVEL_FLOOR_DB);
    const withNaN = sine(1, 1000);
    withNaN[3] = Number.NaN;
    expect(rmsDbfs(withNaN)).toBeLessThan(-3);
    expect(rmsDbfs(withNaN)).toBeGreaterThan(-3.1);
  });

  it('measures only the first `length` samples', () => {
    const buf = new Float32Array(960);
    buf.set(sine(1, 1000, 480));
    expect(rmsDbfs(buf, 480)).toBeCloseTo(-3.01, 1);
    expect(rmsDbfs(buf)).toBeCloseTo(-6.02, 1);
  });
});

describe('SpeakingDetector', () => {
  it('turns on at the first loud frame and stays on through the hang-over', () => {
    const d = new SpeakingDetector({ thresholdDb: -50, hangoverMs: 300 });
    const speech = rmsDbfs(sine(0.1, 220)); // ≈ −23 dBFS
    const quiet = rmsDbfs(sine(0.0005, 220)); // ≈ −69 dBFS
    const timeline: Array<[number, number]> = [
      [0, quiet], [50, quiet], [100, speech], [150, speech], [200, quiet], [300, quiet], [450, quiet], [500, quiet], [550, quiet],
    ];
    const out = timeline.map(([t, db]) => d.update(db, t));
    expect(out).toEqual([false, false, true, true, true, true, true, false, false]);
  });

  it('a short dip inside speech does not flicker the ring', () => {
    const d = new SpeakingDetector({ thresholdDb: -50, hangoverMs: 300 });
    const levels = [-20, -20, -80, -80, -20, -20, -80];
    const out = levels.map((db, i) => d.update(db, i * 100));
    expect(out).toEqual([true, true, true, true, true, true, true]);
    expect(d.update(-80, 1000)).toBe(false);
  });

  it('treats the threshold itself as speaking, and reset() clears it', () => {
    const d = new SpeakingDetector({ thresholdDb: -40, hangoverMs: 0 });
    expect(d.update(-40, 0)).toBe(true);
    expect(d.update(-40.1, 1)).toBe(false);
    d.update(-10, 2);
    d.reset();
    expect(d.speaking).toBe(false);
  });
});
