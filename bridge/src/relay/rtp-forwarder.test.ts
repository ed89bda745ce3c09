/**
 * RtpForwarder against a real UDP socket: what arrives is parsed and checked. Time is a ManualClock,
 * so pauses cost nothing and every run sees the same timestamps.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../receive/clock.ts';
import type { RelayPacket } from '../receive/relay.ts';
import { RtpForwarder, type RtpForwarderOptions, type RtpStreamEvent } from './rtp-forwarder.ts';

interface Rtp {
  version: number;
  padding: boolean;
  extension: boolean;
  csrcCount: number;
  marker: boolean;
  payloadType: number;
  seq: number;
  ts: number;
  ssrc: number;
  payload: Buffer;
}

function parse(b: Buffer): Rtp {
  return {
    version: b[0]! >> 6,
    padding: (b[0]! & 0x20) !== 0,
    extension: (b[0]! & 0x10) !== 0,
    csrcCount: b[0]! & 0x0f,
    marker: (b[1]! & 0x80) !== 0,
    payloadType: b[1]! & 0x7f,
    seq: b.readUInt16BE(2),
    ts: b.readUInt32BE(4),
    ssrc: b.readUInt32BE(8),
    payload: b.subarray(12),
  };
}

/** A real Opus frame's shape: TOC byte (CELT FB 20 ms) then bytes that differ per packet. */
function opus(n: number, size = 80): Uint8Array {
  const b = new Uint8Array(size);
  b[0] = 0xfc;
  for (let i = 1; i < size; i++) b[i] = (n * 31 + i * 7) & 0xff;
  return b;
}

const u16 = (n: number): number => n & 0xffff;
const u32 = (n: number): number => n >>> 0;

describe('RtpForwarder', () => {
  let sink: Socket;
  let received: Rtp[];
  let clock: ManualClock;
  let forwarder: RtpForwarder | undefined;
  let events: RtpStreamEvent[];

  beforeEach(async () => {
    received = [];
    events = [];
    clock = new ManualClock(1_000_000_000n);
    sink = createSocket('udp4');
    sink.on('message', (m) => received.push(parse(m)));
    await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', resolve));
  });

  afterEach(async () => {
    await forwarder?.close();
    forwarder = undefined;
    await new Promise<void>((resolve) => sink.close(() => resolve()));
  });

  async function open(options: Partial<RtpForwarderOptions> = {}): Promise<RtpForwarder> {
    forwarder = await RtpForwarder.open({
      destination: { host: '127.0.0.1', port: sink.address().port },
      clock,
      sweepIntervalMs: 0,
      onStream: (e) => events.push(e),
      ...options,
    });
    return forwarder;
  }

  /** Waits (deadline-bounded) until `n` datagrams have arrived. */
  async function arrived(n: number): Promise<Rtp[]> {
    const deadline = Date.now() + 5_000;
    while (received.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${received.length} of ${n} datagrams arrived`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return received;
  }

  const packet = (p: Partial<RelayPacket> & { seq: number; timestamp: number }): RelayPacket => ({
    ssrc: 1111,
    userId: 'alice',
    arrivalNs: clock.now(),
    opus: opus(p.seq),
    ...p,
  });

  /** Relays `count` packets 20 ms apart, continuing the input sequence and timestamp. */
  function talk(relay: { relay(p: RelayPacket): void }, from: { seq: number; ts: number }, count: number, over: Partial<RelayPacket> = {}): void {
    for (let i = 0; i < count; i++) {
      relay.relay(packet({ seq: u16(from.seq + i), timestamp: u32(from.ts + i * 960), ...over }));
      clock.advanceMs(20);
    }
  }

  it('sends plain RTP version 2 with the payload type and the Opus payload byte for byte', async () => {
    const f = await open();
    const relay = f.forSession('s1');
    // The receive path hands over views into a bigger buffer, reused afterwards.
    const datagram = new Uint8Array(200);
    datagram.set(opus(7, 120), 40);
    const view = datagram.subarray(40, 160);
    relay.relay(packet({ seq: 7, timestamp: 4800, opus: view }));
    datagram.fill(0);
    relay.relay(packet({ seq: 8, timestamp: 5760, opus: Uint8Array.of(0xf8, 0xff, 0xfe) }));
    const [a, b] = await arrived(2);
    expect(a).toMatchObject({ version: 2, padding: false, extension: false, csrcCount: 0, payloadType: 120, marker: true });
    expect(new Uint8Array(a!.payload)).toEqual(opus(7, 120));
    expect(new Uint8Array(b!.payload)).toEqual(Uint8Array.of(0xf8, 0xff, 0xfe));
    expect(b!.ssrc).toBe(a!.ssrc);
    expect(b!.marker).toBe(false);
    expect(f.counters).toMatchObject({ packets: 2, sendErrors: 0, errors: 0 });
  });

  it('uses the configured payload type', async () => {
    const f = await open({ payloadType: 111 });
    f.forSession('s1').relay(packet({ seq: 1, timestamp: 0 }));
    expect((await arrived(1))[0]!.payloadType).toBe(111);
    expect(events[0]).toMatchObject({ payloadType: 111 });
  });

  it('keeps sequence numbers contiguous where the input is, keeps input gaps, and wraps at 16 bits', async () => {
    const f = await open();
    const relay = f.forSession('s1');
    const inSeq = [65_532, 65_533, 65_534, 65_535, 0, 1, 4, 5]; // 2 and 3 lost
    for (const seq of inSeq) {
      relay.relay(packet({ seq, timestamp: u32(0xffff_f000 + u16(seq - 65_532) * 960) }));
      clock.advanceMs(20);
    }
    const out = await arrived(inSeq.length);
    const seqSteps = out.slice(1).map((p, i) => u16(p.seq - out[i]!.seq));
    expect(seqSteps).toEqual([1, 1, 1, 1, 1, 3, 1]);
    const tsSteps = out.slice(1).map((p, i) => u32(p.ts - out[i]!.ts));
    expect(tsSteps).toEqual([960, 960, 960, 960, 960, 2880, 960]);
    expect(out.map((p) => p.marker)).toEqual([true, false, false, false, false, false, false, false]);
  });

  it('advances the timestamp by the wall-clock length of a pause and marks the talk-spurt start', async () => {
    const f = await open();
    const relay = f.forSession('s1');
    talk(relay, { seq: 100, ts: 50_000 }, 5);
    // 1 s of silence: Discord sends nothing; its own sequence and timestamp resume where they were.
    clock.advanceMs(1_000 - 20);
    talk(relay, { seq: 105, ts: 50_000 + 5 * 960 }, 3);
    const out = await arrived(8);
    expect(out.map((p) => p.marker)).toEqual([true, false, false, false, false, true, false, false]);
    expect(out.slice(1).map((p, i) => u16(p.seq - out[i]!.seq))).toEqual([1, 1, 1, 1, 1, 1, 1]);
    // Last packet of the first spurt at t, next at t + 1000 ms: 50 frames of 960 ticks.
    expect(u32(out[5]!.ts - out[4]!.ts)).toBe(50 * 960);
    expect(u32(out[6]!.ts - out[5]!.ts)).toBe(960);
  });

  it('rounds a pause to whole 20 ms frames', async () => {
    const f = await open();
    const relay = f.forSession('s1');
    talk(relay, { seq: 1, ts: 0 }, 1);
    clock.advanceMs(333 - 20); // 333 ms after the last packet → 17 frames (16.65 rounded)
    talk(relay, { seq: 2, ts: 960 }, 1);
    const [a, b] = await arrived(2);
    expect(u32(b!.ts - a!.ts)).toBe(17 * 960);
    expect(b!.marker).toBe(true);
  });

  it('continues without a jump across a new Discord ssrc (reconnect): seq +1, timestamp monotonic, same outgoing ssrc', async () => {
    const f = await open();
    const relay = f.forSession('s1');
    talk(relay, { seq: 40_000, ts: 123_456 }, 4, { ssrc: 1111 });
    clock.advanceMs(300 - 20);
    // Reconnected: a new ssrc, its own unrelated sequence and timestamp (lower ones, even).
    talk(relay, { seq: 7, ts: 960 }, 4, { ssrc: 2222 });
    // A straggler of the old ssrc is not allowed to reset the stream.
    relay.relay(packet({ ssrc: 1111, seq: 40_004, timestamp: 123_456 + 4 * 960 }));
    talk(relay, { seq: 11, ts: 960 * 5 }, 1, { ssrc: 2222 });
    const out = await arrived(9);
    expect(new Set(out.map((p) => p.ssrc)).size).toBe(1);
    expect(out.slice(1).map((p, i) => u16(p.seq - out[i]!.seq))).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(u32(out[4]!.ts - out[3]!.ts)).toBe(15 * 960);
    for (let i = 1; i < out.length; i++) expect(u32(out[i]!.ts - out[i - 1]!.ts)).toBeGreaterThan(0);
    expect(out.map((p) => p.marker)).toEqual([true, false, false, false, true, false, false, false, false]);
    expect(f.counters.dropped).toBe(1);
    expect(events.filter((e) => e.state === 'open')).toHaveLength(1);
  });

  it('forwards a late packet in its place and drops a duplicate', async () => {
    const f = await open();
    const relay = f.forSession('s1');
    for (const seq of [10, 11, 13, 12, 13]) relay.relay(packet({ seq, timestamp: seq * 960 }));
    const out = await arrived(4);
    const base = out[0]!.seq;
    expect(out.map((p) => u16(p.seq - base))).toEqual([0, 1, 3, 2]);
    expect(out.map((p) => u32(p.ts - out[0]!.ts))).toEqual([0, 960, 2880, 1920]);
    expect(f.counters).toMatchObject({ late: 1, dropped: 1, packets: 4 });
  });

  it('gives each (session, user) a random ssrc, stable for the stream, never reused, and announces open and close', async () => {
    const f = await open();
    const s1 = f.forSession('s1');
    const s2 = f.forSession('s2');
    expect(f.forSession('s1')).toBe(s1);
    for (const userId of ['alice', 'bob', 'carol']) {
      talk(s1, { seq: 1, ts: 0 }, 2, { userId });
      talk(s2, { seq: 1, ts: 0 }, 2, { userId });
    }
    const out = await arrived(12);
    const opened = events.filter((e) => e.state === 'open');
    expect(opened.map((e) => `${e.sessionId}/${e.userId}`).sort()).toEqual(['s1/alice', 's1/bob', 's1/carol', 's2/alice', 's2/bob', 's2/carol']);
    expect(new Set(opened.map((e) => e.ssrc)).size).toBe(6);
    expect(new Set(out.map((p) => p.ssrc))).toEqual(new Set(opened.map((e) => e.ssrc)));
    for (const e of opened) expect(e).toMatchObject({ payloadType: 120 });

    // Streams that end and start again get fresh ssrcs: none is ever handed out twice.
    const seen = new Set(opened.map((e) => e.ssrc));
    for (let i = 0; i < 500; i++) {
      s1.relay(packet({ userId: 'dave', seq: 1, timestamp: 0 }));
      s1.endStream('dave');
    }
    const churn = events.filter((e) => e.userId === 'dave');
    expect(churn.filter((e) => e.state === 'open')).toHaveLength(500);
    expect(churn.filter((e) => e.state === 'closed').map((e) => e.reason)).toEqual(Array(500).fill('ended'));
    for (const e of churn.filter((e) => e.state === 'open')) seen.add(e.ssrc);
    expect(seen.size).toBe(506);

    s2.close();
    s2.close();
    expect(events.filter((e) => e.state === 'closed' && e.sessionId === 's2').map((e) => e.reason)).toEqual(Array(3).fill('session-closed'));
    expect(f.streams().map((s) => s.sessionId)).toEqual(['s1', 's1', 's1']);
  });

  it('caps the streams, evicting the one silent the longest, and sweeps idle ones', async () => {
    const f = await open({ maxStreams: 2, idleTimeoutMs: 1_000 });
    const s = f.forSession('s1');
    talk(s, { seq: 1, ts: 0 }, 1, { userId: 'alice' });
    talk(s, { seq: 1, ts: 0 }, 1, { userId: 'bob' });
    talk(s, { seq: 2, ts: 960 }, 1, { userId: 'alice' });
    talk(s, { seq: 1, ts: 0 }, 1, { userId: 'carol' }); // bob is the oldest
    expect(events.filter((e) => e.state === 'closed')).toEqual([expect.objectContaining({ userId: 'bob', reason: 'evicted' })]);
    expect(f.counters.evicted).toBe(1);
    expect(f.streams().map((x) => x.userId).sort()).toEqual(['alice', 'carol']);

    clock.advanceMs(990);
    talk(s, { seq: 3, ts: 1920 }, 1, { userId: 'alice' });
    expect(f.sweep()).toBe(1); // carol: 1 s silent
    expect(f.streams().map((x) => x.userId)).toEqual(['alice']);
    expect(events.at(-1)).toMatchObject({ state: 'closed', userId: 'carol', reason: 'idle' });
    await arrived(5);
  });

  it('never throws into the receive path: onStream throws, oversize payloads and closed sessions are counted', async () => {
    const f = await open({
      onStream: () => {
        throw new Error('bus down');
      },
      maxPayloadBytes: 100,
    });
    const s = f.forSession('s1');
    expect(() => s.relay(packet({ seq: 1, timestamp: 0 }))).not.toThrow();
    expect(() => s.relay(packet({ seq: 2, timestamp: 960, opus: new Uint8Array(101) }))).not.toThrow();
    s.close();
    expect(() => s.relay(packet({ seq: 3, timestamp: 1920 }))).not.toThrow();
    await arrived(1);
    expect(f.counters).toMatchObject({ packets: 1, oversize: 1, afterClose: 1, errors: 2 });
  });

  it('close() reports every open stream closed, is idempotent, and leaves later relays harmless', async () => {
    const f = await open();
    const s = f.forSession('s1');
    talk(s, { seq: 1, ts: 0 }, 1);
    await f.close();
    await f.close();
    expect(events.map((e) => `${e.state}:${e.reason ?? ''}`)).toEqual(['open:', 'closed:forwarder-closed']);
    expect(s.closed).toBe(true);
    expect(() => f.forSession('s2').relay(packet({ seq: 1, timestamp: 0 }))).not.toThrow();
    expect(f.counters.afterClose).toBe(1);
  });
});
