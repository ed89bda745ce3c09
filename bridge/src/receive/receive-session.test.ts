import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { requires } from '../../../test/support/requires.ts';
import { opusAvailable } from '../audio/opus-native.ts';
import { ReceiveSession } from './receive-session.ts';
import type { PcmFrame } from './speaker-stream.ts';
import type { RelayPacket } from './relay.ts';

const require = createRequire(import.meta.url);
const { OpusEncoder: RefOpus } = require('@discordjs/opus') as {
  OpusEncoder: new (rate: number, channels: number) => { encode(b: Buffer): Buffer; decode(b: Buffer): Buffer };
};
const MS = 1_000_000n;

function tonePackets(freq: number, count: number): Buffer[] {
  const enc = new RefOpus(48000, 2);
  const out: Buffer[] = [];
  for (let f = 0; f < count; f++) {
    const pcm = new Int16Array(1920);
    for (let i = 0; i < 960; i++) {
      const v = Math.round(10000 * Math.sin((2 * Math.PI * freq * (f * 960 + i)) / 48000));
      pcm[2 * i] = v;
      pcm[2 * i + 1] = v;
    }
    out.push(enc.encode(Buffer.from(pcm.buffer)));
  }
  return out;
}

/** Reference PCM: @discordjs/opus decodes the same packets, averaged to mono. */
function referenceMono(packets: Buffer[]): Int16Array[] {
  const dec = new RefOpus(48000, 2);
  return packets.map((p) => {
    const b = dec.decode(p);
    const s = new Int16Array(b.buffer, b.byteOffset, b.byteLength / 2);
    const m = new Int16Array(960);
    for (let i = 0; i < 960; i++) m[i] = (s[2 * i]! + s[2 * i + 1]!) >> 1;
    return m;
  });
}

describe.skipIf(!requires('libopus.so.0', opusAvailable(), 'apt-get install libopus0'))('ReceiveSession', () => {
  it('emits each speaker’s PCM equal to a reference decode, with no cross-talk, after reordering', () => {
    const users = new Map([[111, 'alice'], [222, 'bob']]);
    const frames: PcmFrame[] = [];
    const session = new ReceiveSession((ssrc) => users.get(ssrc), (f) => frames.push(f), { speaker: { jitter: { playoutDelayMs: 60 } } });
    const a = tonePackets(440, 40);
    const b = tonePackets(1000, 40);
    const order = [...Array(40).keys()].map((i) => (i % 4 === 1 ? i + 1 : i % 4 === 2 ? i - 1 : i));
    order.forEach((seq, i) => {
      session.onPacket({ ssrc: 111, seq: (65520 + seq) & 0xffff, timestamp: seq * 960, opus: a[seq]! }, BigInt(i * 20) * MS);
      session.onPacket({ ssrc: 222, seq: seq, timestamp: 5000 + seq * 960, opus: b[seq]! }, BigInt(i * 20 + 3) * MS);
      session.tick(BigInt(i * 20 + 5) * MS);
    });
    session.tick(2000n * MS);
    const refA = referenceMono(a);
    const refB = referenceMono(b);
    for (const [user, ref] of [['alice', refA], ['bob', refB]] as const) {
      const got = frames.filter((f) => f.userId === user && !f.concealed);
      expect(got.length).toBe(40);
      let maxDiff = 0;
      got.forEach((f, k) => f.pcm.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - ref[k]![i]!)))));
      // same libopus release on both sides; one LSB of rounding allowed
      expect(maxDiff).toBeLessThanOrEqual(1);
      const ts = got.map((f) => f.tsMonotonicNs);
      for (let k = 1; k < ts.length; k++) expect(ts[k]! - ts[k - 1]!).toBe(20n * MS);
    }
    const alice = session.snapshot().find((s) => s.userId === 'alice')!;
    expect(alice.lost).toBe(0);
    expect(alice.reordered).toBe(10);
    session.close();
  });

  it('hands every packet to the relay on arrival, before any PCM, and never decodes twice', () => {
    const relayed: Array<Pick<RelayPacket, 'seq' | 'userId'> & { frames: number }> = [];
    const frames: PcmFrame[] = [];
    const session = new ReceiveSession(() => 'carol', (f) => frames.push(f));
    session.addRelay({ relay: (p) => relayed.push({ seq: p.seq, userId: p.userId, frames: frames.length }) });
    const pk = tonePackets(300, 5);
    pk.forEach((p, i) => session.onPacket({ ssrc: 9, seq: i, timestamp: i * 960, opus: p }, BigInt(i * 20) * MS));
    expect(relayed.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(relayed.every((r) => r.frames === 0 && r.userId === 'carol')).toBe(true);
    session.tick(140n * MS);
    expect(frames.filter((f) => !f.concealed).length).toBe(5);
    expect(session.speakers.get(9)!.snapshot().framesOut).toBe(5);
    session.close();
  });

  it('counts packets from an unmapped ssrc and a throwing relay without stopping the stream', () => {
    const frames: PcmFrame[] = [];
    const session = new ReceiveSession((ssrc) => (ssrc === 1 ? 'dave' : undefined), (f) => frames.push(f));
    session.addRelay({ relay: () => { throw new Error('sink broke'); } });
    const pk = tonePackets(500, 3);
    session.onPacket({ ssrc: 2, seq: 0, timestamp: 0, opus: pk[0]! }, 0n);
    pk.forEach((p, i) => session.onPacket({ ssrc: 1, seq: i, timestamp: i * 960, opus: p }, BigInt(i * 20) * MS));
    session.tick(100n * MS);
    expect(session.counters.unmapped).toBe(1);
    expect(session.counters.relayErrors).toBe(3);
    expect(frames.filter((f) => !f.concealed).length).toBe(3);
    session.close();
  });

  it('keeps decoding after the sender restarts its sequence numbers (new range, nothing dropped as late)', () => {
    const frames: PcmFrame[] = [];
    const session = new ReceiveSession(() => 'fay', (f) => frames.push(f), { speaker: { jitter: { maxConcealFrames: 0 } } });
    const pk = tonePackets(600, 10);
    for (let i = 0; i < 5; i++) session.onPacket({ ssrc: 3, seq: 30000 + i, timestamp: i * 960, opus: pk[i]! }, BigInt(i * 20) * MS);
    session.tick(200n * MS);
    for (let i = 5; i < 10; i++) session.onPacket({ ssrc: 3, seq: 10 + i, timestamp: i * 960, opus: pk[i]! }, BigInt(200 + i * 20) * MS);
    session.tick(2000n * MS);
    expect(frames.filter((f) => !f.concealed).length).toBe(10);
    expect(session.speakers.get(3)!.snapshot().late).toBe(0);
    session.close();
  });

  it('conceals a corrupt Opus payload and counts a decode error instead of ending the stream', () => {
    const frames: PcmFrame[] = [];
    const session = new ReceiveSession(() => 'erin', (f) => frames.push(f), { speaker: { jitter: { maxConcealFrames: 0 } } });
    const pk = tonePackets(700, 4);
    const bad = Buffer.from([0x03]);
    [pk[0]!, bad, pk[2]!, pk[3]!].forEach((p, i) => session.onPacket({ ssrc: 5, seq: i, timestamp: i * 960, opus: p }, BigInt(i * 20) * MS));
    session.tick(1000n * MS);
    expect(frames.map((f) => f.concealed ?? 'ok')).toEqual(['ok', 'plc', 'ok', 'ok']);
    expect(session.speakers.get(5)!.decodeErrors).toBe(1);
    session.close();
  });
});
