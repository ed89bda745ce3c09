/**
 * The TTS worker end to end: the real hub, the real local speech server (Piper, as speech.yml
 * chooses it) and the real mixer worker. A `duck.reply.message` becomes a `voice.play.pcm` request
 * with the configured ducking, the mixer plays it as 20 ms 48 kHz stereo frames, and the speech
 * server's own recogniser, given those frames back, hears the reply's words (at least 80 % of them:
 * the bar for the spoken answer). A redelivered reply is not spoken twice.
 *
 * Outside CI a missing speech environment skips this file (with the reason printed); under CI=true
 * it fails, since CI installs it (scripts/install-speech.sh).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusClient, makeEnvelope, resample, type PayloadOf } from '@promethean/shared';
import { agentBusFrom } from '@promethean/shared/node';
import { startTempHub, type TempHub } from '../../hub/testing.ts';
import { createEngines, parseSpeechConfig, type SpeechConfig } from '../../speech/config.ts';
import type { LocalSpeechServer } from '../../speech/local-server.ts';
import { normalizeWords } from '../../speech/wer.ts';
import { trackSubscriptions } from '../indexer/index.ts';
import { startMixer, type RunningMixer } from '../mixer/index.ts';
import { ROOT, speechInstalled, startSpeech } from '../../../../test/e2e/speech-support.ts';
import { startTts, ttsFromConfig, type RunningTts } from './index.ts';
import { until } from '../../../../test/support/until.ts';

const route = { provider: 'discord', tenant: 'demo' } as const;
const REPLY = 'The meeting starts at nine tomorrow morning in the main hall.';

describe.skipIf(!speechInstalled())('TTS worker with the real speech server and mixer over the real hub', () => {
  let hub: TempHub;
  let speech: LocalSpeechServer;
  let config: SpeechConfig;
  const buses: BusClient[] = [];
  let tts: RunningTts;
  let mixer: RunningMixer;
  const requests: Array<{ payload: PayloadOf<'voice.play.pcm'>; bytes: number }> = [];
  const frames: Array<{ payload: PayloadOf<'voice.play.pcm.out'>; pcm: Int16Array }> = [];
  let probe: BusClient;

  beforeAll(async () => {
    speech = await startSpeech(2);
    hub = await startTempHub({ writeRuntimeFile: false });
    for (let i = 0; i < 3; i++) buses.push(new BusClient({ url: hub.url, token: hub.agentKey }));
    await Promise.all(buses.map((b) => b.connect()));
    const [ttsBus, mixerBus] = buses as [BusClient, BusClient, BusClient];
    probe = buses[2]!;
    const subs = [
      probe.subscribe('promethean.p.discord.t.demo.voice.play.pcm', (env, att) => void requests.push({ payload: env.payload as PayloadOf<'voice.play.pcm'>, bytes: att[0]?.byteLength ?? 0 })),
      probe.subscribe('promethean.p.discord.t.demo.voice.play.pcm.out', (env, att) => {
        const a = att[0]!;
        frames.push({ payload: env.payload as PayloadOf<'voice.play.pcm.out'>, pcm: new Int16Array(a.slice().buffer) });
      }),
    ];
    await Promise.all(subs.map((s) => s.ready));
    config = parseSpeechConfig(readFileSync(join(ROOT, 'speech.yml'), 'utf8'));
    const acks: Promise<void>[] = [];
    tts = startTts(trackSubscriptions(agentBusFrom(ttsBus), acks), ttsFromConfig(config, speech.url), { logLevel: 'silent', duckingDb: -12 });
    mixer = startMixer(trackSubscriptions(agentBusFrom(mixerBus), acks), { logLevel: 'silent' });
    await Promise.all(acks);
  });

  afterAll(async () => {
    await tts?.stop();
    mixer?.stop();
    for (const b of buses) b.close();
    await hub?.dispose();
    await speech?.close();
  });

  it('speaks a reply through the mixer: the recogniser hears ≥ 80 % of its words; a redelivery is not spoken again', async () => {
    const reply = makeEnvelope('duck.reply.message', { session_id: 'g-c', segment_id: 'g-c.1300.1.0', text: REPLY, latency_ms: 420, speak: true }, { ...route, src: 'cephalon-voice' });
    probe.publish(reply);
    await until('the last mixer frame', () => frames.some((f) => f.payload.last), 120_000);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.payload).toMatchObject({ session_id: 'g-c', play_id: 'reply:g-c.1300.1.0', ducking_db: -12, format: { channels: 1, codec: 'pcm_s16le' } });
    expect(requests[0]!.bytes).toBeGreaterThan(0);
    expect(frames.every((f) => f.payload.play_id === 'reply:g-c.1300.1.0' && f.pcm.length === 1920)).toBe(true);
    // what the bot would send to Discord, back through the recogniser
    const left = new Float32Array(frames.length * 960);
    frames.forEach((f, k) => {
      for (let i = 0; i < 960; i++) left[k * 960 + i] = f.pcm[2 * i]! / 32768;
    });
    const at16 = resample(left, 48000, 16000);
    const heard = await createEngines(config, { tenant: 'discord/demo' }, { localUrl: speech.url }).stt.transcribe({ pcm: Int16Array.from(at16, (v) => Math.max(-32768, Math.min(32767, Math.round(v * 32768)))), sampleRate: 16000 });
    const said = normalizeWords(REPLY);
    const got = new Set(normalizeWords(heard.text));
    const share = said.filter((w) => got.has(w)).length / said.length;
    console.log(`tts e2e: spoke "${REPLY}", heard "${heard.text}" (${(share * 100).toFixed(0)} % of the words)`);
    expect(share).toBeGreaterThanOrEqual(0.8);

    probe.publish(reply);
    await until('the redelivery handled', () => (tts.runtime.counters['tts.duplicates'] ?? 0) === 1, 120_000);
    expect(tts.runtime.counters['tts.spoken']).toBe(1);
    expect(requests).toHaveLength(1);
  });
});
