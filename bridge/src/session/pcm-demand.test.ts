import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { requires } from '../../../test/support/requires.ts';
import { opusAvailable } from '../audio/opus-native.ts';
import { ReceiveSession } from '../receive/receive-session.ts';
import type { PcmFrame } from '../receive/speaker-stream.ts';
import { PcmDemand } from './pcm-demand.ts';

const require = createRequire(import.meta.url);
const { OpusEncoder: RefOpus } = require('@discordjs/opus') as { OpusEncoder: new (rate: number, channels: number) => { encode(b: Buffer): Buffer } };
const MS = 1_000_000n;

function packets(count: number): Buffer[] {
  const enc = new RefOpus(48000, 2);
  return Array.from({ length: count }, (_, f) => {
    const pcm = new Int16Array(1920);
    for (let i = 0; i < 1920; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 300 * (f * 960 + (i >> 1))) / 48000));
    return enc.encode(Buffer.from(pcm.buffer));
  });
}

describe('PcmDemand', () => {
  it('wants a user while a lease covers them, until it expires or is ended with an empty list', () => {
    let now = 0;
    const d = new PcmDemand({ now: () => now });
    d.lease({ session_id: 's1', consumer: 'stt', user_ids: ['1'], ttl_ms: 1000 });
    d.lease({ session_id: 's2', consumer: 'tap', ttl_ms: 5000 });
    expect([d.wants('s1', '1'), d.wants('s1', '2'), d.wants('s2', '9'), d.wants('s3', '1')]).toEqual([true, false, true, false]);
    now = 1000;
    expect(d.wants('s1', '1')).toBe(false);
    d.lease({ session_id: 's2', consumer: 'tap', user_ids: [], ttl_ms: 5000 });
    expect(d.wants('s2', '9')).toBe(false);
  });

  it('holds at most maxLeases, replacing the one closest to expiry', () => {
    const d = new PcmDemand({ maxLeases: 2, now: () => 0 });
    d.lease({ session_id: 'a', consumer: 'c', ttl_ms: 1000 });
    d.lease({ session_id: 'b', consumer: 'c', ttl_ms: 9000 });
    d.lease({ session_id: 'c', consumer: 'c', ttl_ms: 5000 });
    expect(d.size).toBe(2);
    expect(d.evicted).toBe(1);
    expect([d.wants('a', 'x'), d.wants('b', 'x'), d.wants('c', 'x')]).toEqual([false, true, true]);
  });
});

describe.skipIf(!requires('libopus.so.0', opusAvailable(), 'apt-get install libopus0'))('ReceiveSession with demand', () => {
  it('decodes only the streams a lease wants, relays every one, and says which are decoded', () => {
    const users = new Map([[1, '100'], [2, '200']]);
    const frames: PcmFrame[] = [];
    let relayed = 0;
    const demand = new PcmDemand({ now: () => 0 });
    const session = new ReceiveSession((s) => users.get(s), (f) => frames.push(f), { speaker: { jitter: { playoutDelayMs: 20 } } });
    session.demand = (userId) => demand.wants('s1', userId, 0);
    session.addRelay({ relay: () => void relayed++ });
    demand.lease({ session_id: 's1', consumer: 'stt', user_ids: ['200'], ttl_ms: 30_000 });
    const p = packets(20);
    p.forEach((pkt, i) => {
      session.onPacket({ ssrc: 1, seq: i, timestamp: i * 960, opus: pkt }, BigInt(i * 20) * MS);
      session.onPacket({ ssrc: 2, seq: i, timestamp: i * 960, opus: pkt }, BigInt(i * 20) * MS);
      session.tick(BigInt(i * 20 + 20) * MS);
    });
    expect(relayed).toBe(40);
    expect(new Set(frames.filter((f) => !f.concealed).map((f) => f.userId))).toEqual(new Set(['200']));
    expect(frames.filter((f) => !f.concealed)).toHaveLength(20);
    const snap = session.snapshot();
    expect(snap.map((s) => [s.userId, s.decoded, s.received])).toEqual([['100', false, 20], ['200', true, 20]]);
    // the lease ends: user 200 stops being decoded, and nothing more comes out for it
    demand.lease({ session_id: 's1', consumer: 'stt', user_ids: [], ttl_ms: 30_000 });
    const before = frames.length;
    session.onPacket({ ssrc: 2, seq: 20, timestamp: 20 * 960, opus: p[0]! }, 420n * MS);
    session.tick(1000n * MS);
    expect(frames.length).toBe(before);
    expect(session.snapshot().find((s) => s.userId === '200')!.decoded).toBe(false);
  });
});
