/**
 * The STT worker's PCM ring: 48 kHz s16 frames in, 16 kHz out, cut by session-clock times. The
 * reference for the kept samples is the shared whole-signal `resample()` (itself checked against
 * scipy in shared/src/dsp/resample.test.ts), rounded to s16 as the ring stores them.
 */
import { describe, expect, it } from 'vitest';
import { resample } from '@promethean/shared';
import { cutTimeToNs, PcmRing, SpeakerRings } from './ring.ts';

const FRAME = 960;
const T0 = 7_000_000_000_000n;
const MS = 1_000_000n;

/** A deterministic 48 kHz test signal (two tones and a slow sweep), s16. */
function signal48(seconds: number): Int16Array {
  const n = Math.round(seconds * 48000);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / 48000;
    const v = 0.3 * Math.sin(2 * Math.PI * 440 * t) + 0.2 * Math.sin(2 * Math.PI * (1200 + 400 * t) * t);
    out[i] = Math.round(v * 32767);
  }
  return out;
}

/** The ring's expected 16 kHz s16 samples for a whole 48 kHz s16 signal. */
function reference16(pcm48: Int16Array): Int16Array {
  const f = resample(Float32Array.from(pcm48, (v) => v / 32768), 48000, 16000);
  return Int16Array.from(f, (v) => Math.max(-32768, Math.min(32767, Math.round(v * 32768))));
}

function feed(ring: PcmRing, pcm48: Int16Array, startNs: bigint, skip: (k: number) => boolean = () => false): void {
  for (let k = 0; (k + 1) * FRAME <= pcm48.length; k++) {
    if (skip(k)) continue;
    ring.push(pcm48.subarray(k * FRAME, (k + 1) * FRAME), startNs + (BigInt(k * FRAME) * 1_000_000_000n) / 48000n);
  }
}

function maxAbsDiff(a: Int16Array, b: Int16Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('PcmRing', () => {
  it('cut() returns the span’s 16 kHz samples as resample() gives them, first sample at the span start', () => {
    const pcm = signal48(2);
    const ring = new PcmRing();
    feed(ring, pcm, T0);
    const cut = ring.cut(T0 + 250n * MS, T0 + 1250n * MS)!;
    expect(cut.rate).toBe(16000);
    expect(cut.pieces).toEqual([{ offset: 0, length: 16000, ns: T0 + 250n * MS }]);
    const ref = reference16(pcm).subarray(4000, 20000);
    expect(cut.pcm.length).toBe(16000);
    expect(maxAbsDiff(cut.pcm, ref)).toBeLessThanOrEqual(1);
    expect(ring.startNs).toBe(T0);
  });

  it('fills a gap of missing frames with silence, keeping later samples on the clock', () => {
    const pcm = signal48(1);
    const ring = new PcmRing();
    // Frames 10–14 (200–300 ms) never arrive.
    feed(ring, pcm, T0, (k) => k >= 10 && k < 15);
    const cut = ring.cut(T0, T0 + 1000n * MS)!;
    expect(cut.pieces).toHaveLength(1);
    expect(cut.pcm.length).toBeGreaterThanOrEqual(15_900);
    // Well inside the gap: silence. Well after it: the signal as if nothing were missing there.
    const gap = cut.pcm.subarray(3300 + 50, 4800 - 50);
    expect(maxAbsDiff(gap, new Int16Array(gap.length))).toBe(0);
    const after = cut.pcm.subarray(6000, 14000);
    expect(maxAbsDiff(after, reference16(pcm).subarray(6000, 14000))).toBeLessThanOrEqual(1);
  });

  it('a gap longer than maxGapMs starts a new run; a cut across both joins them and maps each piece to its own time', () => {
    const pcm = signal48(0.4);
    const ring = new PcmRing({ maxGapMs: 1000, joinGapMs: 300 });
    feed(ring, pcm, T0);
    feed(ring, pcm, T0 + 5000n * MS);
    const cut = ring.cut(T0 + 200n * MS, T0 + 5200n * MS)!;
    expect(cut.pieces).toHaveLength(2);
    expect(cut.pieces[0]).toEqual({ offset: 0, length: 3200, ns: T0 + 200n * MS });
    expect(cut.pieces[1]).toEqual({ offset: 3200 + 4800, length: 3200, ns: T0 + 5000n * MS });
    expect(cut.pcm.length).toBe(3200 + 4800 + 3200);
    // Seconds of the cut's audio back to the session clock.
    expect(cutTimeToNs(cut, 0.1)).toBe(T0 + 300n * MS);
    expect(cutTimeToNs(cut, 0.5)).toBe(T0 + 5000n * MS);
    expect(cutTimeToNs(cut, 0.6)).toBe(T0 + 5100n * MS);
    // A time inside the join gap maps to the end of the piece before it.
    expect(cutTimeToNs(cut, 0.3)).toBe(T0 + 400n * MS);
    const ref = reference16(pcm);
    expect(maxAbsDiff(cut.pcm.subarray(8000, 11200), ref.subarray(0, 3200))).toBeLessThanOrEqual(1);
  });

  it('a clock that jumps back (a restarted sender) starts a new run at the new times', () => {
    const pcm = signal48(0.4);
    const ring = new PcmRing();
    feed(ring, pcm, T0);
    feed(ring, pcm, T0 - 10_000n * MS);
    const cut = ring.cut(T0 - 10_000n * MS, T0 - 9_800n * MS)!;
    expect(cut.pieces).toEqual([{ offset: 0, length: 3200, ns: T0 - 10_000n * MS }]);
    expect(maxAbsDiff(cut.pcm, reference16(pcm).subarray(0, 3200))).toBeLessThanOrEqual(1);
    expect(ring.cut(T0, T0 + 200n * MS)!.pieces[0]!.ns).toBe(T0);
  });

  it('keeps only the last `seconds`: older spans are gone, a span half in it is clipped', () => {
    const pcm = signal48(3);
    const ring = new PcmRing({ seconds: 1 });
    expect(ring.capacity).toBe(16000);
    feed(ring, pcm, T0);
    expect(ring.cut(T0, T0 + 1000n * MS)).toBeUndefined();
    const cut = ring.cut(T0 + 1500n * MS, T0 + 2500n * MS)!;
    // The ring holds [end − 1 s, end): the resampler emits all but its last few samples as frames arrive.
    const endNs = ring.endNs!;
    expect(endNs).toBeGreaterThan(T0 + 2990n * MS);
    expect(cut.pieces[0]!.ns).toBe(endNs - 1000n * MS);
    const first = Number((cut.pieces[0]!.ns - T0) / 62_500n); // 62,500 ns per 16 kHz sample
    expect(cut.pcm.length).toBe(40_000 - first);
    expect(maxAbsDiff(cut.pcm, reference16(pcm).subarray(first, 40_000))).toBeLessThanOrEqual(1);
    expect(ring.startNs).toBe(endNs - 1000n * MS);
  });

  it('cut() of an empty or inverted span, or before any frame, is undefined', () => {
    const ring = new PcmRing();
    expect(ring.cut(T0, T0 + 1000n * MS)).toBeUndefined();
    expect(ring.endNs).toBeUndefined();
    feed(ring, signal48(0.2), T0);
    expect(ring.cut(T0 + 100n * MS, T0 + 100n * MS)).toBeUndefined();
    expect(ring.cut(T0 + 100n * MS, T0)).toBeUndefined();
    expect(ring.cut(T0 + 10_000n * MS, T0 + 11_000n * MS)).toBeUndefined();
  });
});

describe('SpeakerRings', () => {
  it('refuses a speaker beyond maxSpeakers until an idle one expires', () => {
    const rings = new SpeakerRings({ maxSpeakers: 2, idleMs: 1000, ring: { seconds: 1 } });
    expect(rings.open('a', 0)).toBeDefined();
    expect(rings.open('b', 500)).toBeDefined();
    expect(rings.open('c', 900)).toBeUndefined();
    expect(rings.size).toBe(2);
    // At 1,200 ms `a` has been idle 1,200 ms (> 1,000) and makes room; `b` has not.
    expect(rings.open('c', 1200)).toBeDefined();
    expect(rings.get('a')).toBeUndefined();
    expect(rings.get('b')).toBeDefined();
    expect(rings.expire(5000)).toBe(2);
    expect(rings.size).toBe(0);
  });

  it('deletePrefix() drops one session’s speakers only', () => {
    const rings = new SpeakerRings();
    rings.open('discord\ndemo\ns1\nu1');
    rings.open('discord\ndemo\ns1\nu2');
    rings.open('discord\ndemo\ns10\nu1');
    expect(rings.deletePrefix('discord\ndemo\ns1\n')).toBe(2);
    expect(rings.get('discord\ndemo\ns10\nu1')).toBeDefined();
  });
});
