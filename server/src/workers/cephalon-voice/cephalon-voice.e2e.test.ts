/**
 * cephalon-voice end to end with the real hub and the real local LLM (Gemma 3 270M, temperature 0):
 * a final transcript that names the bot in an enabled guild gets a `duck.reply.message` for the TTS
 * worker; one that does not name it, or comes from a guild that is off, gets none (awaited on the
 * worker's counters, not on time).
 *
 * Outside CI a missing speech environment skips this file (with the reason printed); under CI=true
 * it fails, since CI installs it (scripts/install-speech.sh).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusClient, makeEnvelope, type PayloadOf } from '@promethean/shared';
import { agentBusFrom } from '@promethean/shared/node';
import { startTempHub, type TempHub } from '../../hub/testing.ts';
import { parseSpeechConfig } from '../../speech/config.ts';
import type { LocalSpeechServer } from '../../speech/local-server.ts';
import { trackSubscriptions } from '../indexer/index.ts';
import { ROOT, speechInstalled, startSpeech } from '../../../../test/e2e/speech-support.ts';
import { CephalonVoicePolicy, llmFromConfig, parseCephalonVoiceConfig, startCephalonVoice, type RunningCephalonVoice } from './index.ts';

const ON = '1100000000000000001';
const OFF = '1100000000000000002';
const route = { provider: 'discord', tenant: 'demo' } as const;

async function until(what: string, ok: () => boolean, ms = 120_000): Promise<void> {
  const end = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function connected(sessionId: string, guildId: string) {
  return makeEnvelope('voice.state.connected', { guild_id: guildId, channel_id: '1200000000000000001', session_id: sessionId, ssrc_map: {}, sample_rate: 48000, channels: 2, frame_hop_ms: 20, status: 'connected' }, { ...route, src: 'discord-voice-access' });
}

function transcript(sessionId: string, segmentId: string, text: string) {
  return makeEnvelope('duck.transcript.segment', { session_id: sessionId, segment_id: segmentId, speaker: '1300000000000000001', text, ts_start_ns: '1000', ts_end_ns: '2000', confidence: 0.9, tokens: 8, latency_ms: 300, final: true }, { ...route, src: 'stt' });
}

describe.skipIf(!speechInstalled())('cephalon-voice with the real LLM over the real hub', () => {
  let hub: TempHub;
  let speech: LocalSpeechServer;
  let workerBus: BusClient;
  let probe: BusClient;
  let voice: RunningCephalonVoice;
  const replies: PayloadOf<'duck.reply.message'>[] = [];

  beforeAll(async () => {
    speech = await startSpeech(2);
    hub = await startTempHub({ writeRuntimeFile: false });
    workerBus = new BusClient({ url: hub.url, token: hub.agentKey });
    probe = new BusClient({ url: hub.url, token: hub.agentKey });
    await Promise.all([workerBus.connect(), probe.connect()]);
    await probe.subscribe('promethean.p.discord.t.demo.duck.reply.message', (env) => void replies.push(env.payload as PayloadOf<'duck.reply.message'>)).ready;
    const policy = new CephalonVoicePolicy(parseCephalonVoiceConfig(`version: 1
voice:
  cooldown_s: 0
  tenants:
    - id: demo
      names: [promethean]
      guilds:
        - { id: "${ON}", enabled: true }
        - { id: "${OFF}", enabled: false }
`));
    const acks: Promise<void>[] = [];
    voice = startCephalonVoice(trackSubscriptions(agentBusFrom(workerBus), acks), policy, llmFromConfig(parseSpeechConfig(readFileSync(join(ROOT, 'speech.yml'), 'utf8')), speech.url), { logLevel: 'silent' });
    await Promise.all(acks);
  });

  afterAll(async () => {
    await voice?.stop();
    workerBus?.close();
    probe?.close();
    await hub?.dispose();
    await speech?.close();
  });

  const counter = (name: string) => voice.runtime.counters[name] ?? 0;

  it('answers a question that names the bot in an enabled guild, and nothing else', async () => {
    probe.publish(connected('s-on', ON));
    probe.publish(connected('s-off', OFF));
    await until('both sessions known', () => counter('handled.voice.state.connected') === 2);
    probe.publish(transcript('s-on', 's-on.1', 'I think we should play another round.'));
    probe.publish(transcript('s-on', 's-on.2', 'Promethean, what is the capital of France?'));
    await until('the reply', () => replies.length === 1);
    const r = replies[0]!;
    console.log(`cephalon-voice e2e: "${r.text}" (${r.latency_ms.toFixed(0)} ms, ${r.finish_reason})`);
    expect(r).toMatchObject({ session_id: 's-on', segment_id: 's-on.2', speak: true });
    expect(r.text.length).toBeGreaterThan(0);
    expect(r.text.length).toBeLessThanOrEqual(300);
    expect(r.usage?.completion_tokens).toBeGreaterThan(0);

    probe.publish(transcript('s-off', 's-off.1', 'Promethean, are you there?'));
    await until('the off guild counted', () => counter('cephalon.guild_off') === 1);
    expect(counter('cephalon.addressed')).toBe(2);
    await until('every transcript handled', () => counter('handled.duck.transcript.segment') === 3);
    expect(replies).toHaveLength(1);
  });
});
