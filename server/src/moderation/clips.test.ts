/** A flag's span on the monotonic clock, and its clip cut from the PCM ring. */
import { describe, expect, it } from 'vitest';
import { PcmClipRing } from './clips.ts';
import { clipSpan, timeSpan } from './span.ts';

const MS = 1_000_000n;

describe('timeSpan()', () => {
  const segment = {
    text: 'can everyone hear me now',
    ts_start_ns: '1000000000',
    ts_end_ns: '3000000000',
    words: [
      { word: ' can', start_ms: 0, end_ms: 200 },
      { word: ' everyone', start_ms: 200, end_ms: 700 },
      { word: ' hear', start_ms: 800, end_ms: 1000 },
      { word: ' me', start_ms: 1000, end_ms: 1150 },
      { word: ' now', start_ms: 1200, end_ms: 1500 },
    ],
  };

  it('runs from the first matched word to the last, from the segment start', () => {
    const start = segment.text.indexOf('hear me');
    expect(timeSpan(segment, start, start + 'hear me'.length)).toEqual({ start_ns: 1_000_000_000n + 800n * MS, end_ns: 1_000_000_000n + 1150n * MS });
  });

  it('is the whole segment without word timing, or when no word overlaps', () => {
    const whole = { start_ns: 1_000_000_000n, end_ns: 3_000_000_000n };
    expect(timeSpan({ ...segment, words: undefined }, 0, 3)).toEqual(whole);
    expect(timeSpan({ ...segment, words: [{ word: 'other', start_ms: 0, end_ms: 10 }] }, 0, 3)).toEqual(whole);
  });

  it('stays within the segment when word times run past its end', () => {
    const s = timeSpan({ ...segment, words: [{ word: 'can', start_ms: 0, end_ms: 9000 }] }, 0, 3);
    expect(s.end_ns).toBe(3_000_000_000n);
  });
});

describe('clipSpan()', () => {
  const seg = { start_ns: 1_000_000_000n, end_ns: 3_000_000_000n };
  it('pads both sides within the segment and cuts to maxMs', () => {
    expect(clipSpan({ start_ns: 1_800_000_000n, end_ns: 2_150_000_000n }, seg, 500, 15_000)).toEqual({ start_ns: 1_300_000_000n, end_ns: 2_650_000_000n });
    expect(clipSpan({ start_ns: 1_100_000_000n, end_ns: 2_950_000_000n }, seg, 500, 15_000)).toEqual(seg);
    expect(clipSpan({ start_ns: 1_100_000_000n, end_ns: 2_950_000_000n }, seg, 0, 1000)).toEqual({ start_ns: 1_100_000_000n, end_ns: 2_100_000_000n });
  });
});

describe('PcmClipRing', () => {
  const key = { provider: 'discord', tenant: 'demo', session_id: 's1', user_id: 'u1' };
  /** A 20 ms frame whose samples are `base + i`. */
  const frame = (base: number) => {
    const s = new Int16Array(960);
    for (let i = 0; i < 960; i++) s[i] = base + i;
    return new Uint8Array(s.buffer);
  };

  it('cuts the samples of a span across frames, with silence where a frame is missing', () => {
    const ring = new PcmClipRing({ keepMs: 1000 });
    const t0 = 5_000_000_000n;
    // Frames 0, 1, 3 (frame 2 lost).
    for (const k of [0, 1, 3]) expect(ring.push(key, (t0 + BigInt(k) * 20n * MS).toString(), 48000, 1, frame(k * 1000))).toBe(true);
    const clip = ring.clip(key, { start_ns: t0 + 10n * MS, end_ns: t0 + 70n * MS })!;
    expect(clip.rate_hz).toBe(48000);
    const got = new Int16Array(clip.pcm.buffer, clip.pcm.byteOffset, clip.pcm.byteLength / 2);
    expect(got.length).toBe(60 * 48);
    // 10 ms into frame 0 is its sample 480.
    expect(got[0]).toBe(480);
    expect(got[479]).toBe(959);
    expect(got[480]).toBe(1000);
    expect(got[480 + 959]).toBe(1959);
    expect(got.subarray(1440, 2400).every((v) => v === 0)).toBe(true);
    expect(got[2400]).toBe(3000);
    expect(got[2879]).toBe(3479);
  });

  it('keeps only keepMs per stream and maxStreams streams, and refuses frames not in the bus format', () => {
    const ring = new PcmClipRing({ keepMs: 100, maxStreams: 2 });
    for (let k = 0; k < 10; k++) ring.push(key, String(k * 20_000_000), 48000, 1, frame(k));
    expect(ring.clip(key, { start_ns: 0n, end_ns: 100n * MS })).toBeUndefined();
    expect(ring.clip(key, { start_ns: 100n * MS, end_ns: 200n * MS })).toBeDefined();
    ring.push({ ...key, user_id: 'u2' }, '0', 48000, 1, frame(0));
    ring.push({ ...key, user_id: 'u3' }, '0', 48000, 1, frame(0));
    expect(ring.streams).toBe(2);
    expect(ring.counters.evicted).toBe(1);
    expect(ring.push(key, '0', 16000, 1, frame(0))).toBe(false);
    expect(ring.push(key, '0', 48000, 2, frame(0))).toBe(false);
    expect(ring.push(key, '0', 48000, 1, new Uint8Array(100))).toBe(false);
    expect(ring.push(key, 'x', 48000, 1, frame(0))).toBe(false);
    expect(ring.counters.refused).toBe(4);
  });
});
