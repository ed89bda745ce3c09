import { afterEach, describe, expect, it, vi } from 'vitest';
import { PrometheanError } from '@promethean/shared';
import { OversizeOpusPacketError } from '../util/errors.ts';
import { OpusSender, type OpusSink } from './opus-sender.ts';
import { opusAvailable } from './opus-native.ts';
import { requires } from '../../../test/support/requires.ts';

class RecordingSink implements OpusSink {
  readonly events: Array<{ t: number; what: string }> = [];
  #stopped: (() => void) | undefined;
  /** Resolves at the next Speaking off. */
  readonly stopped = new Promise<void>((resolve) => (this.#stopped = resolve));
  playOpusPacket(packet: Buffer): void {
    this.events.push({ t: performance.now(), what: packet.length === 3 && packet[0] === 0xf8 ? 'silence' : `pkt:${packet[1]}` });
  }
  setSpeaking(speaking: boolean): void {
    this.events.push({ t: performance.now(), what: speaking ? 'speaking:on' : 'speaking:off' });
    if (!speaking) this.#stopped?.();
  }
}


describe('OpusSender', () => {
  it('sends queued packets every 20 ms between Speaking on and off, ending with five silence frames', async () => {
    const sink = new RecordingSink();
    const sender = new OpusSender(sink);
    for (let i = 0; i < 5; i++) sender.pushOpus(Uint8Array.of(0xfc, i, 0, 0));
    await sink.stopped;
    const what = sink.events.map((e) => e.what);
    expect(what).toEqual(['speaking:on', 'pkt:0', 'pkt:1', 'pkt:2', 'pkt:3', 'pkt:4', ...Array(5).fill('silence'), 'speaking:off']);
    // paced, not sent in a burst: ten frames span at least nine 20 ms steps (how much longer a loaded
    // machine makes it is a timing question for the benchmarks, not this test)
    const sends = sink.events.filter((e) => e.what.startsWith('pkt') || e.what === 'silence');
    expect(sends.at(-1)!.t - sends[0]!.t).toBeGreaterThan(9 * 20 - 10);
    expect(sender.isSpeaking).toBe(false);
    sender.close();
  });

  it('drops the oldest packets beyond capacity and counts them', () => {
    const sender = new OpusSender(undefined, { capacity: 3 });
    for (let i = 0; i < 10; i++) sender.pushOpus(Uint8Array.of(0xfc, i));
    expect(sender.counters.dropped).toBeGreaterThanOrEqual(6);
    expect(sender.queued).toBeLessThanOrEqual(3);
    sender.close();
  });

  it.skipIf(!requires('libopus.so.0', opusAvailable(), 'apt-get install libopus0'))('rejects a PCM frame that is not 20 ms stereo with a RangeError', () => {
    const sender = new OpusSender(undefined);
    expect(() => sender.pushPcm(new Int16Array(960))).toThrow(RangeError);
    sender.pushPcm(new Int16Array(1920));
    expect(sender.counters.encodeErrors).toBe(0);
    sender.close();
  });

  describe('limits and a misbehaving clock or sink', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('rejects a packet over 1275 bytes per frame with OversizeOpusPacketError and counts it', () => {
      const sink = new RecordingSink();
      const sender = new OpusSender(sink);
      const ok = new Uint8Array(1276); // TOC + 1275: the largest single-frame packet
      ok[0] = 0xfc;
      sender.pushOpus(ok);
      const big = new Uint8Array(1277);
      big[0] = 0xfc;
      let error: unknown;
      try {
        sender.pushOpus(big);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(OversizeOpusPacketError);
      expect((error as PrometheanError).code).toBe('oversize');
      expect(() => sender.pushOpus(new Uint8Array(0))).toThrow(OversizeOpusPacketError);
      expect(sender.counters.rejected).toBe(2);
      expect(sink.events.filter((e) => e.what.startsWith('pkt'))).toHaveLength(1); // the 1276-byte one, sent at once
      sender.close();
    });

    it('keeps its clock when the sink throws: the error is counted and later packets still go out', () => {
      vi.useFakeTimers();
      const sent: number[] = [];
      const sink: OpusSink = {
        playOpusPacket(packet: Buffer) {
          if (packet[1] === 1) throw new Error('socket gone');
          sent.push(packet[1]!);
        },
        setSpeaking() {
          return undefined;
        },
      };
      const sender = new OpusSender(sink, { now: () => Date.now() });
      for (let i = 0; i < 4; i++) sender.pushOpus(Uint8Array.of(0xfc, i, 0));
      vi.advanceTimersByTime(200);
      expect(sent.slice(0, 3)).toEqual([0, 2, 3]);
      expect(sender.counters.sendErrors).toBe(1);
      sender.close();
    });

    it('after a stall restarts its schedule from now instead of sending the missed frames in a burst', () => {
      vi.useFakeTimers();
      let stalled = 0;
      const now = () => Date.now() + stalled;
      const sendTimes: number[] = [];
      const sink: OpusSink = {
        playOpusPacket(packet: Buffer) {
          sendTimes.push(now());
          if (packet[1] === 3) stalled += 300; // this send blocked the event loop for 300 ms
        },
        setSpeaking() {
          return undefined;
        },
      };
      const sender = new OpusSender(sink, { now });
      for (let i = 0; i < 10; i++) sender.pushOpus(Uint8Array.of(0xfc, i, 0));
      vi.advanceTimersByTime(400);
      const gaps = sendTimes.slice(1).map((t, i) => t - sendTimes[i]!);
      // 20 ms apart, except the one 320 ms gap of the stall; no gap of 0 (a burst)
      expect(gaps.filter((g) => g !== 20)).toEqual([320]);
      expect(sender.counters.resyncs).toBe(1);
      sender.close();
    });
  });
});
