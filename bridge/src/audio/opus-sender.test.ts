import { describe, expect, it } from 'vitest';
import { OpusSender, type OpusSink } from './opus-sender.ts';
import { opusAvailable } from './opus-native.ts';
import { requires } from '../../../test/support/requires.ts';

class RecordingSink implements OpusSink {
  readonly events: Array<{ t: number; what: string }> = [];
  playOpusPacket(packet: Buffer): void {
    this.events.push({ t: performance.now(), what: packet.length === 3 && packet[0] === 0xf8 ? 'silence' : `pkt:${packet[1]}` });
  }
  setSpeaking(speaking: boolean): void {
    this.events.push({ t: performance.now(), what: speaking ? 'speaking:on' : 'speaking:off' });
  }
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('OpusSender', () => {
  it('sends queued packets every 20 ms between Speaking on and off, ending with five silence frames', async () => {
    const sink = new RecordingSink();
    const sender = new OpusSender(sink);
    for (let i = 0; i < 5; i++) sender.pushOpus(Uint8Array.of(0xfc, i, 0, 0));
    await wait(350);
    const what = sink.events.map((e) => e.what);
    expect(what).toEqual(['speaking:on', 'pkt:0', 'pkt:1', 'pkt:2', 'pkt:3', 'pkt:4', ...Array(5).fill('silence'), 'speaking:off']);
    const sends = sink.events.filter((e) => e.what.startsWith('pkt') || e.what === 'silence');
    const span = sends.at(-1)!.t - sends[0]!.t;
    expect(span).toBeGreaterThan(9 * 20 - 10);
    expect(span).toBeLessThan(9 * 20 + 60);
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
});
