import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusClient, makeEnvelope, type PayloadOf } from '@promethean/shared';
import { createHub, type Hub } from '../../hub/index.ts';
import { startMixer, type RunningMixer } from './index.ts';

describe('mixer worker over the real hub', () => {
  let hub: Hub;
  let workerBus: BusClient;
  let producer: BusClient;
  let mixer: RunningMixer;

  beforeAll(async () => {
    hub = await createHub({ dataDir: mkdtempSync(join(tmpdir(), 'mixer-hub-')), writeRuntimeFile: false });
    workerBus = new BusClient({ url: hub.url, token: hub.agentKey });
    producer = new BusClient({ url: hub.url, token: hub.agentKey });
    await Promise.all([workerBus.connect(), producer.connect()]);
    mixer = startMixer(workerBus, { logLevel: 'silent' });
  });

  afterAll(async () => {
    mixer?.stop();
    workerBus?.close();
    producer?.close();
    await hub?.close();
  });

  it('two overlapping play requests come out one after the other as 20 ms 48 kHz stereo frames', async () => {
    const out: Array<{ payload: PayloadOf<'voice.play.pcm.out'>; bytes: number }> = [];
    const sub = producer.subscribe('promethean.p.discord.t.demo.voice.play.pcm.out', (env, att) => {
      out.push({ payload: env.payload as PayloadOf<'voice.play.pcm.out'>, bytes: att[0]!.byteLength });
    });
    await sub.ready;
    // the worker's two subscriptions (play and stop) are in the hub's routing table
    while (!hub.metrics().per_connection.some((c) => c.subscriptions >= 2)) await new Promise((r) => setTimeout(r, 10));
    const a = new Int16Array(24000 / 10).fill(1000); // 100 ms of 24 kHz mono
    const b = new Int16Array(16000 / 10 * 2).fill(-1000); // 100 ms of 16 kHz stereo
    producer.publish(makeEnvelope('voice.play.pcm', { session_id: 's1', play_id: 'a', format: { rate_hz: 24000, channels: 1, codec: 'pcm_s16le' }, attachment: 0 }, { src: 'tts', provider: 'discord', tenant: 'demo' }), [new Uint8Array(a.buffer)]);
    producer.publish(makeEnvelope('voice.play.pcm', { session_id: 's1', play_id: 'b', format: { rate_hz: 16000, channels: 2, codec: 'pcm_s16le' }, gain_db: -6, attachment: 0 }, { src: 'tts', provider: 'discord', tenant: 'demo' }), [new Uint8Array(b.buffer)]);
    while (out.filter((o) => o.payload.last).length < 2) await new Promise((r) => setTimeout(r, 10));
    expect(out.map((o) => `${o.payload.play_id}:${o.payload.seq}`)).toEqual(['a:0', 'a:1', 'a:2', 'a:3', 'a:4', 'b:5', 'b:6', 'b:7', 'b:8', 'b:9']);
    expect(out.every((o) => o.bytes === 3840)).toBe(true);
    sub();
  });
});
