import { describe, expect, it } from 'vitest';
import { RtpStreamRewriter } from './rtp-stream.ts';

const MS = 1_000_000n;

describe('RtpStreamRewriter', () => {
  it('starts the outgoing stream at the given sequence number and timestamp, marked', () => {
    const r = new RtpStreamRewriter(65_535, 0xffff_ffff);
    expect(r.next(1, 500, 9_000, 0n)).toEqual({ sequenceNumber: 65_535, timestamp: 0xffff_ffff, marker: true, kind: 'start' });
    expect(r.next(1, 501, 9_960, 20n * MS)).toEqual({ sequenceNumber: 0, timestamp: 959, marker: false, kind: 'next' });
  });

  it('restarts the mapping at last + 1 on a forward jump beyond maxForwardJump, or a packet older than maxLateness', () => {
    const r = new RtpStreamRewriter(100, 0, { maxForwardJump: 50, maxLateness: 10 });
    r.next(1, 1_000, 0, 0n);
    expect(r.next(1, 1_060, 60 * 960, 20n * MS)).toMatchObject({ sequenceNumber: 101, marker: true, kind: 'start' });
    expect(r.next(1, 1_040, 40 * 960, 40n * MS)).toMatchObject({ sequenceNumber: 102, marker: true, kind: 'start' });
    expect(r.next(1, 1_035, 35 * 960, 60n * MS)).toMatchObject({ sequenceNumber: 97, marker: false, kind: 'late' });
  });

  it('treats a pause of exactly talkspurtGapMs as a new talk-spurt and a shorter one as jitter', () => {
    const r = new RtpStreamRewriter(0, 0, { talkspurtGapMs: 100 });
    r.next(1, 10, 0, 0n);
    expect(r.next(1, 11, 960, 99n * MS)).toMatchObject({ timestamp: 960, marker: false });
    expect(r.next(1, 12, 1_920, 199n * MS)).toMatchObject({ timestamp: 960 + 5 * 960, marker: true });
  });

  it('advances at least one frame on a new ssrc even with no time elapsed', () => {
    const r = new RtpStreamRewriter(0, 1_000);
    r.next(1, 10, 0, 5n * MS);
    expect(r.next(2, 10, 0, 5n * MS)).toEqual({ sequenceNumber: 1, timestamp: 1_960, marker: true, kind: 'start' });
  });
});
