/**
 * RelayAnchorAnnouncer against a real RtpForwarder session (its header rewriting decides the outgoing
 * timestamps; a ManualClock stands in for time): what it announces, when, and that the anchors map
 * every frame's outgoing timestamp back onto the frame's own clock.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../receive/clock.ts';
import { RelayAnchorAnnouncer, type RelayAnchorPayload } from './anchor-announcer.ts';
import { RtpForwarder } from './rtp-forwarder.ts';
import type { SessionRelay } from './session-relay.ts';

const opus = (n: number): Uint8Array => Uint8Array.from([0xfc, n & 0xff, (n >> 8) & 0xff, 1, 2, 3]);

/** Maps an outgoing timestamp through the newest anchor at or before it. */
function mapThrough(anchors: RelayAnchorPayload[], rtp: number): bigint {
  const a = anchors.findLast((x) => ((rtp - x.rtp_timestamp) | 0) >= 0)!;
  return BigInt(a.ts_monotonic_ns) + (BigInt((rtp - a.rtp_timestamp) | 0) * 1_000_000_000n) / 48_000n;
}

describe('RelayAnchorAnnouncer', () => {
  let sink: Socket;
  let clock: ManualClock;
  let forwarder: RtpForwarder;
  let session: SessionRelay;
  let anchors: RelayAnchorPayload[];
  let announcer: RelayAnchorAnnouncer;
  /** Outgoing timestamp of each relayed packet, by input seq. */
  let sent: Map<number, number>;

  beforeEach(async () => {
    sink = createSocket('udp4');
    await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
    clock = new ManualClock(5_000_000_000n);
    forwarder = await RtpForwarder.open({ destination: { host: '127.0.0.1', port: sink.address().port }, clock, sweepIntervalMs: 0 });
    session = forwarder.forSession('s1');
    anchors = [];
    sent = new Map();
    announcer = new RelayAnchorAnnouncer((sid, uid, ssrc, ts) => (sid === 's1' ? session.outgoing(uid, ssrc, ts) : undefined), (p) => void anchors.push(p), { intervalMs: 5000 });
  });

  afterEach(async () => {
    await forwarder.close();
    sink.close();
  });

  /** Relays input packet (seq, ts) now and records where it went. */
  function relay(inSsrc: number, seq: number, ts: number): void {
    session.relay({ ssrc: inSsrc, userId: 'u1', seq, timestamp: ts >>> 0, arrivalNs: clock.now(), opus: opus(seq) });
    sent.set(seq, session.outgoing('u1', inSsrc, ts >>> 0)!.timestamp);
  }

  it('announces a start anchor for the first frame, then nothing while the mapping holds', () => {
    for (let i = 0; i < 20; i++) {
      relay(111, 100 + i, 9000 + i * 960);
      clock.advanceMs(20);
    }
    // PCM frames stamped 60 ms after arrival of the first, 20 ms apart (the jitter buffer's clock)
    for (let i = 0; i < 20; i++) announcer.frame({ sessionId: 's1', userId: 'u1', inSsrc: 111, inTimestamp: 9000 + i * 960, tsMonotonicNs: 5_000_000_000n + BigInt(i) * 20_000_000n });
    expect(anchors).toEqual([{ session_id: 's1', user_id: 'u1', ssrc: forwarder.streams()[0]!.ssrc, rtp_timestamp: sent.get(100)!, ts_monotonic_ns: '5000000000', reason: 'start' }]);
  });

  it('announces a discontinuity when a pause re-bases the relay but the PCM clock runs on, and the anchors map every frame back', () => {
    const frames: Array<{ seq: number; ts: number; ns: bigint }> = [];
    let ns = 7_000_000_000n;
    for (let i = 0; i < 10; i++, ns += 20_000_000n) {
      relay(111, 100 + i, 9000 + i * 960);
      frames.push({ seq: 100 + i, ts: 9000 + i * 960, ns });
      clock.advanceMs(20);
    }
    // A 1,013 ms pause: Discord's timestamp says 1,000 ms (the PCM clock keeps it), the relay rounds arrival time to 1,020 ms.
    clock.advanceMs(1013 - 20);
    ns += 1_000_000_000n - 20_000_000n;
    for (let i = 10; i < 20; i++, ns += 20_000_000n) {
      const ts = 9000 + i * 960 + 48_000 - 960;
      relay(111, 100 + i, ts);
      frames.push({ seq: 100 + i, ts, ns });
      clock.advanceMs(20);
    }
    for (const f of frames) announcer.frame({ sessionId: 's1', userId: 'u1', inSsrc: 111, inTimestamp: f.ts, tsMonotonicNs: f.ns });
    expect(anchors.map((a) => a.reason)).toEqual(['start', 'discontinuity']);
    expect(anchors[1]!.rtp_timestamp).toBe(sent.get(110));
    for (const f of frames) expect(mapThrough(anchors, sent.get(f.seq)!), `frame ${f.seq}`).toBe(f.ns);
    expect(announcer.counters).toMatchObject({ start: 1, discontinuity: 1, periodic: 0, unmapped: 0 });
  });

  it('maps frames released after the next talk-spurt re-based the relay (the playout delay) through the older mapping', () => {
    relay(111, 1, 1000);
    clock.advanceMs(20);
    relay(111, 2, 1960);
    clock.advanceMs(500);
    relay(111, 3, 1960 + 960 * 26); // 520 ms of Discord time, relay: 500 ms of arrival time
    const first = sent.get(2)!;
    expect(session.outgoing('u1', 111, 1960)!.timestamp).toBe(first);
    expect(session.outgoing('u1', 111, 1960 + 960 * 26)!.timestamp).toBe((sent.get(1)! + 960 * 26) >>> 0);
    expect(session.outgoing('u1', 222, 1960)).toBeUndefined();
  });

  it('repeats the anchor every intervalMs of frame time and starts over for a new outgoing stream', () => {
    for (let i = 0; i < 400; i++) {
      relay(111, i, i * 960);
      clock.advanceMs(20);
      announcer.frame({ sessionId: 's1', userId: 'u1', inSsrc: 111, inTimestamp: i * 960, tsMonotonicNs: BigInt(i) * 20_000_000n });
    }
    expect(anchors.map((a) => a.reason)).toEqual(['start', 'periodic']);
    expect(anchors[1]!.ts_monotonic_ns).toBe('5000000000');
    session.endStream('u1');
    relay(333, 0, 0);
    announcer.frame({ sessionId: 's1', userId: 'u1', inSsrc: 333, inTimestamp: 0, tsMonotonicNs: 9_000_000_000n });
    expect(anchors.at(-1)).toMatchObject({ reason: 'start', ssrc: forwarder.streams()[0]!.ssrc, rtp_timestamp: sent.get(0) });
  });

  it('counts a frame no relayed packet covers and announces nothing for it', () => {
    announcer.frame({ sessionId: 's2', userId: 'u1', inSsrc: 1, inTimestamp: 0, tsMonotonicNs: 0n });
    expect(anchors).toEqual([]);
    expect(announcer.counters.unmapped).toBe(1);
  });

  it('keeps at most maxStreams streams and a bucket of discontinuity anchors', () => {
    const small = new RelayAnchorAnnouncer(() => ({ ssrc: 7, timestamp: 0 }), (p) => void anchors.push(p), { maxStreams: 2, discontinuities: { burst: 2, perSecond: 5 } });
    for (const u of ['a', 'b', 'c']) small.frame({ sessionId: 's', userId: u, inSsrc: 1, inTimestamp: 0, tsMonotonicNs: 0n });
    // 'a' was forgotten: it starts again
    small.frame({ sessionId: 's', userId: 'a', inSsrc: 1, inTimestamp: 0, tsMonotonicNs: 0n });
    expect(anchors.map((x) => `${x.user_id}:${x.reason}`)).toEqual(['a:start', 'b:start', 'c:start', 'a:start']);
    anchors.length = 0;
    // the same outgoing timestamp at ever later times: off on every frame. The bucket (2) pays for 20 and
    // 40 ms (0.1 s of refill at 5/s left 0.1 token); the next whole token is there 180 ms later, at 220 ms.
    for (let i = 1; i <= 20; i++) small.frame({ sessionId: 's', userId: 'a', inSsrc: 1, inTimestamp: 0, tsMonotonicNs: BigInt(i) * 20_000_000n });
    expect(anchors.map((x) => x.ts_monotonic_ns)).toEqual(['20000000', '40000000', '220000000']);
  });
});
