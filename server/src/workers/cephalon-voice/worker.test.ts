/**
 * cephalon-voice's prompt: speakers are named by their display name from `voice.members`, never by
 * user id (the small default model read ids aloud: "Question from 1456074443980…"). The LLM is
 * `FakeLlm`, which records what it was asked; the question here is the prompt, not the answer.
 */
import { describe, expect, it } from 'vitest';
import { makeEnvelope, type Envelope } from '@promethean/shared';
import type { CompleteInput, Completion, Llm } from '../../speech/index.ts';
import { CephalonVoicePolicy, parseCephalonVoiceConfig } from './config.ts';
import { CephalonVoice, type CephalonVoiceRuntime } from './worker.ts';
import { until } from '../../../../test/support/until.ts';

const GUILD = '1100000000000000001';
const ALICE = '1100000000000000042';
const BOB = '1100000000000000043';
const route = { provider: 'discord', tenant: 'demo' } as const;

class FakeLlm implements Llm {
  readonly name = 'fake';
  readonly prompts: string[] = [];
  async complete(input: CompleteInput): Promise<Completion> {
    this.prompts.push(input.messages.map((m) => m.content).join('\n'));
    return { text: 'It is blue.', finishReason: 'stop', promptTokens: 1, completionTokens: 1, tokensPerSecond: 1, models: [] };
  }
}

function setup() {
  const handlers = new Map<string, (env: Envelope) => void>();
  const replies: unknown[] = [];
  const runtime: CephalonVoiceRuntime = {
    subscribe: (pattern, handler) => void handlers.set(pattern.slice(pattern.lastIndexOf('.t.*.') + 5), (env) => void handler(env, [])),
    publish: (intent: string, payload: unknown) => void (intent === 'duck.reply.message' && replies.push(payload)),
    count: () => undefined,
  };
  const llm = new FakeLlm();
  const policy = new CephalonVoicePolicy(parseCephalonVoiceConfig(`version: 1\nvoice:\n  cooldown_s: 0\n  tenants:\n    - id: demo\n      names: [promethean]\n      guilds:\n        - { id: "${GUILD}", enabled: true }\n`));
  const brain = new CephalonVoice(runtime, policy, () => llm);
  brain.start();
  const deliver = (intent: string, payload: unknown) => handlers.get(intent)!(makeEnvelope(intent as 'voice.members', payload as never, { ...route, src: 'test' }));
  return { brain, llm, replies, deliver };
}

const member = (user_id: string, display_name: string) => ({ user_id, display_name, avatar_url: null, bot: false, mute: false, deaf: false, self_mute: false, self_deaf: false });
const said = (segment: string, speaker: string, text: string) => ({
  session_id: 's1', segment_id: segment, speaker, text, final: true, language: 'en', confidence: 0.9, tokens: 8, latency_ms: 300, ts_start_ns: '1000000000', ts_end_ns: '2000000000', words: [],
});

describe('cephalon-voice prompt', () => {
  it('names speakers by display name from voice.members, and says "someone" for a speaker the roster has not named', async () => {
    const { llm, replies, deliver } = setup();
    deliver('voice.state.connected', { guild_id: GUILD, channel_id: '1100000000000000009', session_id: 's1', ssrc_map: {}, sample_rate: 48000, channels: 2, frame_hop_ms: 20, status: 'connected' });
    deliver('voice.members', { session_id: 's1', guild_id: GUILD, channel_id: '1100000000000000009', members: [member(ALICE, 'Alice')], change: { kind: 'snapshot' } });
    deliver('duck.transcript.segment', said('s1.a.1', BOB, 'Did anyone bring the map?'));
    deliver('duck.transcript.segment', said('s1.a.2', ALICE, 'Promethean, what colour is the sky?'));
    await until('the answer', () => replies.length === 1, 10_000);
    const prompt = llm.prompts[0]!;
    expect(prompt).toContain('someone: Did anyone bring the map?');
    expect(prompt).toContain('Question from Alice: Promethean, what colour is the sky?');
    expect(prompt).not.toContain(ALICE);
    expect(prompt).not.toContain(BOB);
  });
});
