import { describe, expect, it } from 'vitest';
import { JitterBuffer, type BufferedPacket, type PlayoutFrame } from './jitter-buffer.ts';
import { OpusEncoder, OPUS_APPLICATION_VOIP, opusAvailable } from '../audio/opus-native.ts';
import { requires } from '../../../test/support/requires.ts';

const MS = 1_000_000n;
/** A CELT-only 20 ms stereo TOC (config 31, code 0): no SILK layer, so no in-band FEC. */
const celt = (tag: number): Uint8Array => new Uint8Array([0xfc, tag & 0xff, 0x11, 0x22]);
const SILENCE = new Uint8Array([0xf8, 0xff, 0xfe]);

function pkt(extSeq: number, arrivalMs: number, opus: Uint8Array = celt(extSeq), ts0 = 1000): BufferedPacket {
  return { extSeq, seq: extSeq & 0xffff, timestamp: (ts0 + extSeq * 960) >>> 0, arrivalNs: BigInt(arrivalMs) * MS, opus };
}

function drain(jb: JitterBuffer, untilMs: number, stepMs = 5): PlayoutFrame[] {
  const out: PlayoutFrame[] = [];
  for (let t = 0; t <= untilMs; t += stepMs) jb.pull(BigInt(t) * MS, out);
  return out;
}

describe('JitterBuffer', () => {
  it('releases nothing before the playout delay, then frames in order at 20 ms spacing', () => {
    const jb = new JitterBuffer({ playoutDelayMs: 60 });
    for (let i = 0; i < 5; i++) jb.push(pkt(i, i * 20));
    expect(jb.pull(59n * MS)).toEqual([]);
    const first = jb.pull(60n * MS);
    expect(first.map((f) => f.kind)).toEqual(['packet']);
    const rest = jb.pull(140n * MS);
    expect(rest.map((f) => f.seq)).toEqual([1, 2, 3, 4]);
    expect(rest.map((f) => Number(f.captureNs / MS))).toEqual([20, 40, 60, 80]);
  });

  it('after a 2 s stall of this process, a burst of 300 queued packets is released in order, none dropped or concealed', () => {
    const jb = new JitterBuffer({ playoutDelayMs: 60 });
    for (let i = 0; i < 10; i++) jb.push(pkt(i, i * 20));
    const before = drain(jb, 200);
    // the event loop stalls: packets 10..309 were sent every 20 ms but are all read at t = 6.2 s
    for (let i = 10; i < 310; i++) jb.push(pkt(i, 6200));
    const after = jb.pull(6240n * MS); // frame n is due at 60 + 20n ms: the last (309) at 6240
    const frames = [...before, ...after];
    expect(frames.map((f) => f.kind).every((k) => k === 'packet')).toBe(true);
    expect(frames.map((f) => f.seq)).toEqual(Array.from({ length: 310 }, (_, i) => i));
    expect(jb.counters).toMatchObject({ overflowed: 0, late: 0, plc: 0, fec: 0 });
  });

  it('a sender stall longer than the playout delay costs its frames once: the delay adapts, and the same stall again loses nothing', () => {
    const jb = new JitterBuffer({ playoutDelayMs: 60, maxPlayoutDelayMs: 250 });
    const out: PlayoutFrame[] = [];
    // packet n is sent at 20n ms, except that the sender stalls for 100 ms twice: packets 10..14 and
    // 30..34 leave in one burst 100 ms after packet 10 (resp. 30) should have
    const sentAt = (n: number): number => (n >= 10 && n < 15 ? 300 : n >= 30 && n < 35 ? 700 : 20 * n);
    const order = Array.from({ length: 50 }, (_, n) => n).sort((a, b) => sentAt(a) - sentAt(b) || a - b);
    let t = 0;
    for (const n of order) {
      for (; t < sentAt(n); t += 5) jb.pull(BigInt(t) * MS, out);
      jb.push(pkt(n, sentAt(n)));
    }
    const lateAfterFirst = jb.counters.late;
    expect(lateAfterFirst).toBeGreaterThan(0); // 10 (due 260) and 11 (due 280) came at 300: concealed
    expect(out.filter((f) => f.kind !== 'packet').map((f) => f.seq)).toEqual([10, 11]);
    expect(jb.playoutDelayMs).toBeGreaterThan(100); // 60 + 40 ms late + 10 ms margin
    for (; t <= 2000; t += 5) jb.pull(BigInt(t) * MS, out);
    const packets = out.filter((f) => f.kind === 'packet').map((f) => f.seq);
    // the second stall (30..34) cost nothing: every other packet came out as itself, in order
    expect(packets).toEqual(Array.from({ length: 50 }, (_, n) => n).filter((n) => n !== 10 && n !== 11));
    expect(jb.counters.late).toBe(lateAfterFirst);
  });

  it('gives the extra delay back a quarter per talk-spurt without a late packet, never below the floor', () => {
    const jb = new JitterBuffer({ playoutDelayMs: 60, maxPlayoutDelayMs: 250 });
    // a late packet raises the delay
    for (let i = 0; i < 3; i++) jb.push(pkt(i, i * 20));
    drain(jb, 200);
    jb.push(pkt(3, 400)); // due at 120 (its frame already concealed): 280 ms late
    expect(jb.playoutDelayMs).toBe(250); // capped
    const delays: number[] = [];
    let base = 1000;
    for (let spurt = 0; spurt < 40; spurt++) {
      // each spurt: 3 packets on time, then a silence frame; a second of silence between spurts
      const first = 10 + spurt * 100;
      for (let k = 0; k < 3; k++) jb.push(pkt(first + k, base + k * 20));
      jb.push(pkt(first + 3, base + 60, SILENCE));
      for (let t = base; t < base + 1000; t += 5) jb.pull(BigInt(t) * MS);
      delays.push(jb.playoutDelayMs);
      base += 2000;
    }
    // the late packet counts against the spurt that follows it, which gives nothing back
    expect(delays[0]).toBe(250);
    expect(delays[1]).toBeCloseTo(60 + 190 * 0.75, 3);
    expect(delays.every((d, i) => i === 0 || d <= delays[i - 1]!)).toBe(true);
    expect(delays.at(-1)).toBe(60);
  });

  it('puts packets reordered by up to 3 back in sequence order', () => {
    const jb = new JitterBuffer({ playoutDelayMs: 80 });
    const order = [0, 3, 1, 2, 4, 7, 5, 6, 8, 9];
    order.forEach((seq, i) => jb.push(pkt(seq, i * 20)));
    const out = jb.pull(1000n * MS);
    expect(out.slice(0, 10).map((f) => f.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(out.slice(0, 10).every((f) => f.kind === 'packet')).toBe(true);
    // packets stopped: a bounded tail of concealment, then nothing
    expect(out.slice(10).every((f) => f.kind === 'plc')).toBe(true);
    expect(out.length).toBe(15);
  });

  it('re-opens a talk-spurt at a packet reordered ahead of its first one, without a stuck head', () => {
    const jb = new JitterBuffer({ playoutDelayMs: 60 });
    jb.push(pkt(11, 0)); // the spurt's second packet arrives first
    jb.push(pkt(10, 4));
    for (let i = 12; i < 20; i++) jb.push(pkt(i, (i - 11) * 20));
    const out = drain(jb, 400);
    const packets = out.filter((f) => f.kind === 'packet');
    expect(packets.map((f) => f.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 10 + i));
    // nothing concealed before the last packet; stamps 20 ms apart, packet 11's at its own arrival
    expect(out.slice(0, 10).every((f) => f.kind === 'packet')).toBe(true);
    expect(packets.slice(0, 3).map((f) => Number(f.captureNs / MS))).toEqual([-20, 0, 20]);
    expect(jb.counters).toMatchObject({ late: 0, plc: 5, spurts: 1 });
    expect(jb.depth).toBe(0);
  });

  it('counts a packet of the current spurt that arrives after its turn as late and keeps going', () => {
    const jb = new JitterBuffer({ playoutDelayMs: 20 });
    jb.push(pkt(6, 0));
    jb.push(pkt(7, 20));
    expect(jb.pull(40n * MS).map((f) => f.seq)).toEqual([6, 7]);
    expect(jb.push(pkt(5, 45))).toBe(false);
    jb.push(pkt(8, 50));
    expect(jb.pull(70n * MS).map((f) => [f.kind, f.seq])).toEqual([['packet', 8]]);
    expect(jb.counters.late).toBe(1);
  });

  it('drops a packet arriving after its playout time and counts it as late', () => {
    const jb = new JitterBuffer({ playoutDelayMs: 40 });
    jb.push(pkt(0, 0));
    jb.push(pkt(2, 40));
    const out = drain(jb, 60);
    expect(out.map((f) => f.kind)).toEqual(['packet', 'plc']);
    expect(jb.push(pkt(1, 70))).toBe(false);
    expect(jb.counters.late).toBe(1);
    expect(jb.pull(200n * MS).filter((f) => f.kind === 'packet').map((f) => f.seq)).toEqual([2]);
  });

  it('conceals a gap with PLC when the next packet has no in-band FEC', () => {
    const jb = new JitterBuffer({ playoutDelayMs: 60 });
    for (const i of [0, 1, 3, 4]) jb.push(pkt(i, i * 20));
    const out = jb.pull(140n * MS);
    expect(out.map((f) => `${f.kind}:${f.seq}`)).toEqual(['packet:0', 'packet:1', 'plc:2', 'packet:3', 'packet:4']);
    expect(jb.counters.plc).toBe(1);
  });

  it('stops emitting after the talk-spurt ends with F8 FF FE frames', () => {
    const jb = new JitterBuffer({ playoutDelayMs: 20 });
    for (let i = 0; i < 3; i++) jb.push(pkt(i, i * 20));
    for (let i = 3; i < 8; i++) jb.push(pkt(i, i * 20, SILENCE));
    const out = drain(jb, 2000);
    expect(out.map((f) => f.kind)).toEqual(['packet', 'packet', 'packet']);
    expect(jb.counters.silenceFrames).toBe(5);
    expect(jb.speaking).toBe(false);
  });

  it('conceals at most maxConcealFrames when packets stop, then goes quiet', () => {
    const jb = new JitterBuffer({ playoutDelayMs: 20, maxConcealFrames: 3 });
    jb.push(pkt(0, 0));
    jb.push(pkt(1, 20));
    const out = drain(jb, 5000);
    expect(out.map((f) => f.kind)).toEqual(['packet', 'packet', 'plc', 'plc', 'plc']);
    expect(jb.speaking).toBe(false);
  });

  it('starts a new talk-spurt anchored at its first packet after silence', () => {
    const jb = new JitterBuffer({ playoutDelayMs: 20 });
    jb.push(pkt(0, 0));
    jb.push(pkt(1, 20, SILENCE));
    drain(jb, 500);
    jb.push(pkt(2, 3000));
    expect(jb.pull(3019n * MS)).toEqual([]);
    const out = jb.pull(3020n * MS);
    expect(out.map((f) => [f.seq, Number(f.captureNs / MS)])).toEqual([[2, 3000]]);
    expect(jb.counters.spurts).toBe(2);
  });

  it('schedules playout from the earliest-arriving packet when the first one came late', () => {
    const jb = new JitterBuffer({ playoutDelayMs: 60 });
    jb.push(pkt(0, 30)); // 30 ms late
    for (let i = 1; i < 5; i++) jb.push(pkt(i, i * 20));
    // frame 4 is due at 0 + 80 + 60 = 140 ms, not 30 + 80 + 60
    expect(jb.pull(139n * MS).map((f) => f.seq)).toEqual([0, 1, 2, 3]);
    const last = jb.pull(140n * MS);
    expect(last.map((f) => f.seq)).toEqual([4]);
    // stamps stay evenly spaced from the first packet's arrival
    expect(Number(last[0]!.captureNs / MS)).toBe(30 + 80);
  });

  it('keeps the media clock across talk-spurts when timestamps follow real time', () => {
    const jb = new JitterBuffer({ playoutDelayMs: 20 });
    jb.push(pkt(0, 0));
    jb.push(pkt(1, 20, SILENCE));
    drain(jb, 500);
    // 1 s later by both the RTP clock (50 frames) and the arrival clock, 3 ms of network delay
    jb.push({ ...pkt(2, 1023), timestamp: (1000 + 52 * 960) >>> 0 });
    expect(jb.pull(1042n * MS)).toEqual([]);
    const out = jb.pull(1043n * MS); // due at its own arrival reference (1023 − 1040) + 1040 + 20
    expect(out.map((f) => [f.seq, Number(f.captureNs / MS)])).toEqual([[2, 1040]]);
  });

  it('handles the sequence and timestamp wrap through extended sequence numbers', () => {
    const jb = new JitterBuffer({ playoutDelayMs: 20 });
    for (let i = 0; i < 6; i++) jb.push(pkt(65533 + i, i * 20, celt(i), 0xfffff000));
    const out = jb.pull(120n * MS);
    expect(out.map((f) => f.seq)).toEqual([65533, 65534, 65535, 0, 1, 2]);
    expect(out.every((f) => f.kind === 'packet')).toBe(true);
  });

  it('counts a duplicate packet and keeps one copy', () => {
    const jb = new JitterBuffer();
    expect(jb.push(pkt(0, 0))).toBe(true);
    expect(jb.push(pkt(0, 1))).toBe(false);
    expect(jb.counters.duplicates).toBe(1);
    expect(jb.depth).toBe(1);
  });

  it('drops the oldest held packets when over capacity and counts them', () => {
    const jb = new JitterBuffer({ capacity: 4, playoutDelayMs: 1000 });
    for (let i = 0; i < 10; i++) jb.push(pkt(i, i));
    expect(jb.depth).toBe(4);
    expect(jb.counters.overflowed).toBe(6);
    expect(jb.pull(10_000n * MS).filter((f) => f.kind === 'packet').map((f) => f.seq)).toEqual([6, 7, 8, 9]);
  });
});

describe.skipIf(!requires('libopus.so.0', opusAvailable(), 'apt-get install libopus0'))('JitterBuffer with real Opus packets', () => {
  it('chooses FEC for a gap when the next packet carries in-band FEC', () => {
    const enc = new OpusEncoder({ channels: 1, bitrate: 24000, application: OPUS_APPLICATION_VOIP, inbandFec: true, packetLossPercent: 20 });
    const packets: Uint8Array[] = [];
    for (let f = 0; f < 30; f++) {
      const pcm = new Int16Array(960);
      for (let i = 0; i < 960; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 300 * (f * 960 + i)) / 48000));
      packets.push(enc.encode(pcm));
    }
    enc.close();
    const jb = new JitterBuffer({ playoutDelayMs: 60 });
    for (let i = 0; i < 30; i++) if (i !== 25) jb.push(pkt(i, i * 20, packets[i]));
    const out = jb.pull(10_000n * MS);
    const gap = out.find((f) => f.seq === 25);
    expect(gap?.kind).toBe('fec');
    expect(gap?.kind === 'fec' && gap.next.extSeq).toBe(26);
    expect(out.filter((f) => f.kind === 'packet').length).toBe(29);
  });
});
