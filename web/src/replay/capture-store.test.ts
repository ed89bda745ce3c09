import { describe, expect, it } from 'vitest';
import { CaptureStore } from './capture-store.ts';

const S = 1_000_000_000n;
const f = (user: string, ssrc: number, rtp: number, receiveNs: bigint, byte = 1) => ({ user_id: user, ssrc, rtp, receive_ns: receiveNs, data: new Uint8Array([byte]) });

describe('CaptureStore', () => {
  it('puts a speaker\'s frames on the session clock anchored at the first frame\'s receive time, 48 kHz apart', () => {
    const c = new CaptureStore();
    c.add(f('u', 7, 1000, 100n * S));
    c.add(f('u', 7, 1000 + 960, 100n * S + 25_000_000n)); // received late: the RTP spacing wins
    const [s] = c.stats();
    expect(s).toMatchObject({ user_id: 'u', frames: 2, first_ns: (100n * S).toString(), last_ns: (100n * S + 20_000_000n).toString(), clock: 'receive' });
    expect(s!.newest).toEqual({ ssrc: 7, rtp: 1960, ns: (100n * S + 20_000_000n).toString() });
  });

  it('a new stream of the same speaker (new ssrc, new timestamp base) lands on the same axis by its receive time', () => {
    const c = new CaptureStore();
    c.add(f('u', 1, 5_000, 100n * S));
    c.add(f('u', 2, 4_000_000_000, 102n * S));
    const clip = c.clip('u', 100n * S, 103n * S);
    expect(clip.frames.map((x) => x.offset)).toEqual([0, 2 * 48_000]);
  });

  it('clip() copies the frames of the span with offsets from its start', () => {
    const c = new CaptureStore();
    for (let i = 0; i < 100; i++) c.add(f('u', 1, i * 960, 100n * S + BigInt(i) * 20_000_000n, i));
    const clip = c.clip('u', 100n * S + 200_000_000n, 100n * S + 300_000_000n);
    expect(clip.frames.map((x) => x.offset)).toEqual([0, 960, 1920, 2880, 3840]);
    expect(clip.frames.map((x) => new Uint8Array(x.data)[0])).toEqual([10, 11, 12, 13, 14]);
    expect(c.clip('nobody', 0n, S).frames).toEqual([]);
  });

  it('replay off: drops what it kept and keeps nothing, but still follows the clock', () => {
    const c = new CaptureStore();
    c.add(f('u', 1, 0, 100n * S));
    c.setEnabled(false);
    c.add(f('u', 1, 960, 100n * S));
    const [s] = c.stats();
    expect(s).toMatchObject({ frames: 0, bytes: 0, seen: 2 });
    expect(s!.newest?.rtp).toBe(960);
  });

  it('keeps at most maxSpeakers speakers, forgetting the one heard least recently', () => {
    const c = new CaptureStore({ maxSpeakers: 2 });
    c.add(f('a', 1, 0, S));
    c.add(f('b', 2, 0, S));
    c.add(f('a', 1, 960, S));
    c.add(f('c', 3, 0, S));
    expect(c.stats().map((s) => s.user_id).sort()).toEqual(['a', 'c']);
  });

  it('relayAnchor() puts the speaker on the bridge\'s clock: stats, newest and clips, including frames received before it', () => {
    const c = new CaptureStore();
    for (let i = 0; i < 10; i++) c.add(f('u', 9, 0xffff_fe00 + i * 960, 100n * S + BigInt(i) * 20_000_000n, i)); // crosses the 32-bit wrap
    expect(c.relayAnchor('nobody', 0, 0n)).toBe(false);
    expect(c.relayAnchor('u', 0x1234_5678, 5n * S)).toBe(false); // another timestamp base
    // the bridge says the frame relayed with timestamp 0xffff_fe00 + 5·960 is at 7 s on its clock
    expect(c.relayAnchor('u', (0xffff_fe00 + 5 * 960) >>> 0, 7n * S)).toBe(true);
    const [s] = c.stats();
    expect(s).toMatchObject({ clock: 'relay', first_ns: (7n * S - 100_000_000n).toString(), last_ns: (7n * S + 80_000_000n).toString() });
    expect(s!.newest).toEqual({ ssrc: 9, rtp: (0xffff_fe00 + 9 * 960) >>> 0, ns: (7n * S + 80_000_000n).toString() });
    const clip = c.clip('u', 7n * S, 7n * S + 40_000_000n);
    expect(clip.frames.map((x) => new Uint8Array(x.data)[0])).toEqual([5, 6]);
    // a new stream of the speaker is still placed by its receive time, then mapped through the relay anchor
    c.add(f('u', 10, 77, 100n * S + 1_000_000_000n, 42));
    expect(c.stats()[0]!.newest).toEqual({ ssrc: 10, rtp: 77, ns: (7n * S + 900_000_000n).toString() });
  });
});
