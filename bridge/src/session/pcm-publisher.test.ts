import { describe, expect, it } from 'vitest';
import { PcmPublisher, pcmBytes, pcmSamples } from './pcm-publisher.ts';
import type { PcmFrame } from '../receive/speaker-stream.ts';
import { PrometheanError } from '@promethean/shared';

const frame = (seq: number): PcmFrame => ({ ssrc: 7, userId: 'u7', seq, timestamp: seq * 960, tsMonotonicNs: BigInt(seq) * 20_000_000n, pcm: new Int16Array(960).fill(seq) });

describe('PcmPublisher', () => {
  it('publishes frames as voice.audio.pcm payloads with attachment 0, ts as a decimal string and 1920 bytes', () => {
    const sent: Array<{ payload: unknown; bytes: number }> = [];
    const pub = new PcmPublisher('s1', (payload, pcm) => sent.push({ payload, bytes: pcm.byteLength }), () => ({ queued: 0, bufferedBytes: 0 }), () => ({ lost: 2, jitter: 1.5 }));
    pub.push(frame(3));
    expect(pub.drain()).toBe(1);
    expect(sent[0]).toEqual({
      payload: { session_id: 's1', user_id: 'u7', ts_monotonic_ns: '60000000', format: { rate_hz: 48000, channels: 1, codec: 'pcm_s16le' }, rtp: { ssrc: 7, seq: 3, timestamp: 2880, lost: 2, jitter: 1.5 }, attachment: 0 },
      bytes: 1920,
    });
  });

  it('never blocks while the bus lags: holds up to capacity, drops the oldest and counts them', () => {
    let backlog = 10_000;
    const seqs: number[] = [];
    const pub = new PcmPublisher('s1', (p) => seqs.push(p.rtp.seq), () => ({ queued: backlog, bufferedBytes: 0 }), () => undefined, { capacity: 5, busHighWater: 100 });
    for (let i = 0; i < 12; i++) pub.push(frame(i));
    expect(pub.drain()).toBe(0);
    expect(pub.depth).toBe(5);
    expect(pub.dropped).toBe(7);
    backlog = 0;
    expect(pub.drain()).toBe(5);
    expect(seqs).toEqual([7, 8, 9, 10, 11]);
  });

  it('pcmBytes()/pcmSamples() round-trip little-endian s16 and reject an odd byte count', () => {
    const s = Int16Array.of(1, -2, 32767, -32768);
    const b = pcmBytes(s);
    expect(Array.from(b)).toEqual([1, 0, 0xfe, 0xff, 0xff, 0x7f, 0x00, 0x80]);
    expect(Array.from(pcmSamples(b.slice()))).toEqual([1, -2, 32767, -32768]);
    expect(Array.from(pcmSamples(new Uint8Array([0, 1, 0, 2, 0]).subarray(1)))).toEqual([1, 2]);
    expect(() => pcmSamples(new Uint8Array(3))).toThrow(PrometheanError);
  });
});
