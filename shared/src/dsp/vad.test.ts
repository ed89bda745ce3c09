import { describe, expect, it } from 'vitest';
import { DspOptionsError } from './errors.ts';
import { defaultVadSettings, VadSegmenter, type VadEvent, type VadSegment, type VadSettings } from './vad.ts';

/** 32 ms frames at 16 kHz, as Silero's. */
const FRAME = 512;

function run(probs: number[], settings: Partial<VadSettings> = {}): { segments: VadSegment[]; events: VadEvent[] } {
  const seg = new VadSegmenter(FRAME, 16000, settings);
  const events: VadEvent[] = [];
  for (const p of probs) events.push(...seg.processInput(p, p > 0.5 ? 0.1 : 0.001));
  events.push(...seg.flush());
  return { events, segments: events.flatMap((e) => (e.type === 'end' ? [e.segment] : [])) };
}
const frames = (n: number, p: number) => Array<number>(n).fill(p);

describe('VadSegmenter', () => {
  it('segments speech with pre-pad and post-pad around the speech frames', () => {
    const { segments } = run([...frames(20, 0.1), ...frames(20, 0.9), ...frames(20, 0.1)], { prePadMs: 32, postPadMs: 32 });
    expect(segments).toHaveLength(1);
    expect(segments[0]!.startSample).toBe(20 * FRAME - 512);
    expect(segments[0]!.endSample).toBe(40 * FRAME + 512);
    expect(segments[0]!.index).toBe(0);
  });

  it('drops speech shorter than minSpeechMs without using a segment id', () => {
    const { segments } = run([...frames(10, 0), ...frames(3, 0.9), ...frames(20, 0), ...frames(15, 0.9), ...frames(20, 0)], { minSpeechMs: 250 });
    expect(segments).toHaveLength(1);
    expect(segments[0]!.index).toBe(0);
    expect(segments[0]!.startSample).toBeGreaterThan(30 * FRAME);
  });

  it('keeps speech through a pause shorter than the hang-over, and ends it after a longer one', () => {
    const speech = frames(12, 0.9);
    const short = run([...speech, ...frames(4, 0.1), ...speech, ...frames(30, 0)], { redemptionMs: 160 });
    expect(short.segments).toHaveLength(1);
    const long = run([...speech, ...frames(6, 0.1), ...speech, ...frames(30, 0)], { redemptionMs: 160 });
    expect(long.segments.map((s) => s.index)).toEqual([0, 1]);
  });

  it('applies hysteresis: probabilities between the thresholds neither start nor end speech', () => {
    const mid = 0.4;
    const idle = run([...frames(30, mid)], { positiveThreshold: 0.5, negativeThreshold: 0.35 });
    expect(idle.segments).toHaveLength(0);
    const held = run([...frames(10, 0.9), ...frames(40, mid), ...frames(10, 0)], { positiveThreshold: 0.5, negativeThreshold: 0.35, postPadMs: 0 });
    expect(held.segments).toHaveLength(1);
    expect(held.segments[0]!.endSample).toBe(50 * FRAME);
  });

  it('cuts speech longer than maxSegmentMs into contiguous segments with consecutive ids', () => {
    const { segments } = run([...frames(100, 0.9), ...frames(10, 0)], { maxSegmentMs: 1000, prePadMs: 0, postPadMs: 0 });
    expect(segments.map((s) => s.index)).toEqual([0, 1, 2, 3]);
    for (let i = 1; i < segments.length; i++) expect(segments[i]!.startSample).toBe(segments[i - 1]!.endSample);
    expect(segments[0]!.cut).toBe(true);
    expect(segments.at(-1)!.cut).toBe(false);
  });

  it('emits start once speech is confirmed, before its end, with the same index and start', () => {
    const { events } = run([...frames(5, 0), ...frames(20, 0.9), ...frames(20, 0)]);
    expect(events.map((e) => e.type)).toEqual(['start', 'end']);
    const [start, end] = events as [Extract<VadEvent, { type: 'start' }>, Extract<VadEvent, { type: 'end' }>];
    expect(start.index).toBe(end.segment.index);
    expect(start.startSample).toBe(end.segment.startSample);
  });

  it('reports the speech RMS and an SNR over the noise floor of the frames before', () => {
    const seg = new VadSegmenter(FRAME, 16000);
    const events: VadEvent[] = [];
    for (let i = 0; i < 50; i++) events.push(...seg.processInput(0, 0.01));
    for (let i = 0; i < 20; i++) events.push(...seg.processInput(0.9, 0.1));
    for (let i = 0; i < 20; i++) events.push(...seg.processInput(0, 0.01));
    const end = events.find((e) => e.type === 'end') as Extract<VadEvent, { type: 'end' }>;
    expect(end.segment.energyRms).toBeCloseTo(0.1, 6);
    expect(end.segment.snrDb).toBeCloseTo(20, 1);
  });

  it('update() changes settings live and rejects bad ones with DspOptionsError, keeping the old', () => {
    const seg = new VadSegmenter(FRAME, 16000);
    expect(() => seg.update({ positiveThreshold: 1.5 })).toThrow(DspOptionsError);
    expect(() => seg.update({ negativeThreshold: 0.9 })).toThrow(/negativeThreshold/);
    expect(seg.settings.positiveThreshold).toBe(defaultVadSettings.positiveThreshold);
    seg.update({ positiveThreshold: 0.95, negativeThreshold: 0.9 });
    const events: VadEvent[] = [];
    for (let i = 0; i < 30; i++) events.push(...seg.processInput(0.9, 0.1));
    expect(events).toHaveLength(0);
  });

  it('treats a NaN probability as silence and continueFrom() sets the next id', () => {
    const seg = new VadSegmenter(FRAME, 16000);
    seg.continueFrom(41);
    const events: VadEvent[] = [];
    for (let i = 0; i < 20; i++) events.push(...seg.processInput(0.9, 0.1));
    for (let i = 0; i < 20; i++) events.push(...seg.processInput(Number.NaN, Number.NaN));
    expect(events.flatMap((e) => (e.type === 'end' ? [e.segment.index] : []))).toEqual([41]);
  });

  it('treats frames at or above maxTonality as silence whatever the probability', () => {
    const seg = new VadSegmenter(FRAME, 16000, { maxTonality: 0.8 });
    const events: VadEvent[] = [];
    for (let i = 0; i < 40; i++) events.push(...seg.processInput(0.99, 0.1, 0.95));
    events.push(...seg.flush());
    expect(events).toHaveLength(0);
    for (let i = 0; i < 40; i++) events.push(...seg.processInput(0.99, 0.1, 0.3));
    events.push(...seg.flush());
    expect(events.map((e) => e.type)).toEqual(['start', 'end']);
  });
});
