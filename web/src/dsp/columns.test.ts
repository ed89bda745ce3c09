import { describe, expect, it } from 'vitest';
import { ColumnHistory, ColumnProcessor } from './columns.ts';

const sine = (hz: number, amp: number, n: number, rate = 48_000) => Float32Array.from({ length: n }, (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / rate));
/** Byte value of a dB level with the default range (−90 … 0 dB). */
const byteOf = (db: number) => ((db + 90) / 90) * 255;

describe('ColumnProcessor', () => {
  it('linear scale: a 1025 Hz sine at amplitude 0.5 (−6.02 dBFS) peaks in the row holding 1025 Hz at −6 dB', () => {
    const p = new ColumnProcessor({ scale: 'linear', rows: 160, fmax: 8000, nFft: 2048 }, 48_000);
    const { count, data } = p.processInput(sine(1025, 0.5, 48_000));
    expect(count).toBe(Math.floor((48_000 - 2048) / 480) + 1);
    const last = data.subarray((count - 1) * 160, count * 160);
    const peak = last.indexOf(Math.max(...last));
    expect(peak).toBe(p.rowOf(1025));
    expect(Math.abs(last[peak]! - byteOf(20 * Math.log10(0.5)))).toBeLessThanOrEqual(2);
    // Far from the tone: near the floor (Hann sidelobes are far below −90 dB relative at 4 kHz).
    expect(last[p.rowOf(4000)]!).toBeLessThan(20);
  });

  it('mel scale: the loudest row is the one whose centre is nearest the tone', () => {
    const p = new ColumnProcessor({ scale: 'mel', rows: 128, fmax: 8000 }, 48_000);
    for (const hz of [440, 1250, 3000]) {
      p.processInput(new Float32Array(4096)); // a gap between tones
      const { count, data } = p.processInput(sine(hz, 0.3, 24_000));
      const last = data.subarray((count - 1) * 128, count * 128);
      const peak = last.indexOf(Math.max(...last));
      expect(Math.abs(peak - p.rowOf(hz))).toBeLessThanOrEqual(1);
    }
  });

  it('emits one column per hop once n_fft samples arrived, whatever the chunk sizes', () => {
    const a = new ColumnProcessor({}, 4096);
    const b = new ColumnProcessor({}, 4096);
    const x = sine(700, 0.2, 9600);
    const whole = a.processInput(x);
    const wholeData = whole.data.slice();
    let n = 0;
    const parts: number[] = [];
    for (let i = 0; i < x.length; i += 333) {
      const r = b.processInput(x.subarray(i, i + 333));
      n += r.count;
      parts.push(...r.data);
    }
    expect(n).toBe(whole.count);
    expect(Uint8Array.from(parts)).toEqual(wholeData);
  });

  it('reads NaN as silence and rejects fmax above Nyquist', () => {
    const p = new ColumnProcessor({}, 4096);
    const { data } = p.processInput(new Float32Array(4096).fill(Number.NaN));
    expect(Math.max(...data)).toBe(0);
    expect(() => new ColumnProcessor({ fmax: 30_000 })).toThrow(RangeError);
  });
});

describe('ColumnHistory', () => {
  it('holds the last `capacity` columns, addressed by absolute index', () => {
    const h = new ColumnHistory(2, 3);
    h.push(Uint8Array.from([1, 1, 2, 2, 3, 3, 4, 4]), 4);
    expect(h.column(0)).toBeUndefined();
    expect([...h.column(1)!]).toEqual([2, 2]);
    expect([...h.column(3)!]).toEqual([4, 4]);
    expect(h.column(4)).toBeUndefined();
  });
});
