import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidStateError } from '@promethean/shared';
import { VoiceOp } from '@promethean/shared/providers/discord';
import type { PcmAudio } from '../audio/wav.ts';
import { startStandin, type Standin } from '../standin.ts';
import { RawVoiceClient } from '../testing/raw-client.ts';
import { StandinConfigError } from '../util/errors.ts';
import { until } from '../../../support/until.ts';

/** 0.4 s of a 440 Hz tone: 20 frames of audio, then five silence frames. */
const TONE: PcmAudio = { sampleRate: 48000, channels: [Float32Array.from({ length: 19200 }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / 48000))] };

describe('Faults.delaySpeaking() (op 5 after the first packets)', () => {
  let standin: Standin;
  let client: RawVoiceClient | undefined;
  beforeAll(async () => {
    standin = await startStandin({ speakers: [{ name: 'late', audio: TONE }, { name: 'other', audio: TONE }] });
  });
  afterEach(async () => {
    await client?.close();
    client = undefined;
  });
  afterAll(async () => {
    await standin?.close();
  });

  /** Arrival time (client clock) of op 5 for `userId`, the n-th one (0-based). */
  function speakingAt(c: RawVoiceClient, userId: string, at: Map<unknown, number>, n = 0): number | undefined {
    const ops = c.messages.filter((m) => m.op === VoiceOp.Speaking && (m.d as { user_id: string }).user_id === userId);
    return ops[n] ? at.get(ops[n]) : undefined;
  }

  it('sends the next spurt’s op 5 the given ms after its first packet, reports what preceded it, and only once', async () => {
    client = await RawVoiceClient.connect({ gatewayUrl: standin.gatewayUrl, certPath: standin.certPath, guildId: standin.guildId, channelId: standin.voiceChannelId });
    const c = client;
    // stamp each JSON message on arrival
    const at = new Map<unknown, number>();
    const push = c.messages.push.bind(c.messages);
    c.messages.push = (...items) => {
      for (const m of items) at.set(m, performance.now());
      return push(...items);
    };
    const late = standin.speakers.get('late')!;
    const sent = standin.faults.delaySpeaking('late', 150);
    await standin.speakers.play('late');
    const report = await sent;
    const log = standin.sendLog.entries({ ssrc: late.ssrc });
    expect(report).toMatchObject({ userId: late.userId, ssrc: late.ssrc, sent: true, firstSequence: log[0]!.sequence });
    expect(report.afterFirstPacketMs).toBeGreaterThanOrEqual(150);
    // 25 packets take 0.5 s: op 5 came after 150 ms of them, while the pass went on
    expect(report.packetsBefore).toBeGreaterThanOrEqual(7);
    expect(report.packetsBefore).toBeLessThan(log.length);
    await until('the delayed op 5', () => speakingAt(c, late.userId, at) !== undefined, 5_000);
    const first = c.packets.find((p) => p.header.ssrc === late.ssrc)!;
    expect(first.header.sequence).toBe(log[0]!.sequence);
    expect(speakingAt(c, late.userId, at)! - first.at).toBeGreaterThanOrEqual(140);
    expect(standin.faults.injected.lateSpeaking).toBe(1);
    // one-shot: the next spurt is announced at its start again
    const before = c.packets.length;
    await standin.speakers.play('late');
    await until('the second op 5', () => speakingAt(c, late.userId, at, 1) !== undefined, 5_000);
    const second = c.packets.slice(before).find((p) => p.header.ssrc === late.ssrc)!;
    expect(speakingAt(c, late.userId, at, 1)! - second.at).toBeLessThan(100);
  });

  it('resolves with sent: false when the speaker leaves before op 5 is due', async () => {
    const sent = standin.faults.delaySpeaking('other', 60_000);
    void standin.speakers.play('other');
    standin.speakers.leave('other');
    expect(await sent).toMatchObject({ sent: false });
  });

  it('rejects an unknown speaker or a bad delay (StandinConfigError) and a second arming (InvalidStateError)', () => {
    expect(() => standin.faults.delaySpeaking('nobody', 100)).toThrow(StandinConfigError);
    expect(() => standin.faults.delaySpeaking('late', -1)).toThrow(StandinConfigError);
    expect(() => standin.faults.delaySpeaking('late', Number.NaN)).toThrow(StandinConfigError);
    void standin.faults.delaySpeaking('late', 10);
    expect(() => standin.faults.delaySpeaking('late', 10)).toThrow(InvalidStateError);
  });
});
