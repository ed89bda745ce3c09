/**
 * DspOffload's `requireRelayClock`: a browser's segment must say its times are on the relay clock
 * (`clock: 'relay'`, mapped through `voice.relay.anchor`); the server's worker needs not. The bus is
 * a recording fake; the scheduler is real.
 */
import { describe, expect, it } from 'vitest';
import type { Envelope, PayloadOf } from '@promethean/shared';
import type { Principal } from '../hub/auth.ts';
import { DspOffload, type OffloadBus } from './offload.ts';

class FakeRecordingBus implements OffloadBus {
  readonly published: Envelope[] = [];
  publish(envelope: Envelope): void {
    this.published.push(envelope);
  }
  subscribe(): { ready: Promise<void> } {
    return { ready: Promise.resolve() };
  }
}

const WORKER: Principal = { role: 'agent', tenant: null, agent: 'vad' };
const TAB: Principal = { role: 'moderator', tenant: 'demo', sid: 'aaaaaaaaaaaaaaaa' };
const env = (intent: string, src: string, payload: unknown) => ({ intent, src, provider: 'discord', tenant: 'demo', payload });
const EPOCH = 1_700_000_000_000;
const seg = (index: number, extra: Partial<PayloadOf<'voice.audio.segment'>> = {}) => ({ session_id: 'vs', user_id: 'u1', segment_id: `vs.u1.${EPOCH}.${index}`, index, ts_start_ns: '1', ts_end_ns: '2', runner_id: 'tab-aaaaaa', ...extra });

async function setup(requireRelayClock: boolean) {
  const offload = new DspOffload({ tickMs: 60_000, requireRelayClock });
  await offload.attach(new FakeRecordingBus());
  offload.refusal(WORKER, env('dsp.streams', 'vad', { streams: [{ session_id: 'vs', user_id: 'u1', epoch_ms: EPOCH, next_index: 0, running: true }] }));
  return offload;
}

describe('DspOffload requireRelayClock', () => {
  it('refuses a tab\'s segment on its receive clock or with no clock stated, and takes one on the relay clock', async () => {
    const offload = await setup(true);
    expect(offload.refusal(WORKER, env('voice.audio.segment', 'vad', seg(0, { runner_id: undefined })))).toBeUndefined();
    offload.refusal(TAB, env('dsp.capacity', 'client:aaaaaaaaaaaaaaaa', { runner_id: 'tab-aaaaaa', backend: 'wasm', threads: 1, score: 100, capacity: 1 }));
    expect(offload.refusal(TAB, env('voice.audio.segment', 'client:aaaaaaaaaaaaaaaa', seg(1)))).toMatch(/must be on the relay clock .* not unstated/);
    expect(offload.refusal(TAB, env('voice.audio.segment', 'client:aaaaaaaaaaaaaaaa', seg(1, { clock: 'receive' })))).toMatch(/not receive/);
    expect(offload.refusal(TAB, env('voice.audio.segment', 'client:aaaaaaaaaaaaaaaa', seg(1, { clock: 'relay' })))).toBeUndefined();
    expect(offload.counters).toMatchObject({ unclocked: 2, accepted: 2 });
    offload.close();
  });

  it('off (the default), a tab\'s segment with no clock is taken as before', async () => {
    const offload = await setup(false);
    offload.refusal(TAB, env('dsp.capacity', 'client:aaaaaaaaaaaaaaaa', { runner_id: 'tab-aaaaaa', backend: 'wasm', threads: 1, score: 100, capacity: 1 }));
    expect(offload.refusal(TAB, env('voice.audio.segment', 'client:aaaaaaaaaaaaaaaa', seg(0)))).toBeUndefined();
    offload.close();
  });
});
