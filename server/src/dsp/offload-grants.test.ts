/**
 * DspOffload's decisions without a hub: what it refuses and which leases it announces, for the
 * cases the hub test does not reach (scoped moderators, lag, ended streams, a restarted worker, open
 * announcements, bad ids). The bus is a recording fake; everything else is the real scheduler.
 */
import { describe, expect, it } from 'vitest';
import { makeEnvelope, type Envelope, type PayloadOf } from '@promethean/shared';
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
  leases(): PayloadOf<'dsp.lease'>[] {
    return this.published.filter((e) => e.intent === 'dsp.lease').map((e) => e.payload as PayloadOf<'dsp.lease'>);
  }
}

const WORKER: Principal = { role: 'agent', tenant: null, agent: 'vad' };
const moderator = (sid: string, guild?: string): Principal => ({ role: 'moderator', tenant: 'demo', sid, ...(guild ? { guild } : {}) });
const env = (intent: string, src: string, payload: unknown) => ({ intent, src, provider: 'discord', tenant: 'demo', payload });
const EPOCH = 1_700_000_000_000;
const seg = (index: number, extra: Partial<PayloadOf<'voice.audio.segment'>> = {}) => ({ session_id: 'vs', user_id: 'u1', segment_id: `vs.u1.${EPOCH}.${index}`, index, ts_start_ns: '1', ts_end_ns: '2', ...extra });

async function setup(options: { now?: () => number } = {}) {
  const bus = new FakeRecordingBus();
  const offload = new DspOffload({ tickMs: 60_000, ...options });
  await offload.attach(bus);
  const report = (streams: PayloadOf<'dsp.streams'>['streams']) => offload.refusal(WORKER, env('dsp.streams', 'vad', { streams }));
  report([{ session_id: 'vs', user_id: 'u1', epoch_ms: EPOCH, next_index: 0, running: true }]);
  return { bus, offload, report };
}

describe('DspOffload', () => {
  it('the worker segments a stream no tab holds; ids must carry the stream epoch and come in order', async () => {
    const { offload } = await setup();
    expect(offload.refusal(WORKER, env('voice.audio.segment', 'vad', seg(0)))).toBeUndefined();
    expect(offload.refusal(WORKER, env('voice.audio.segment', 'vad', seg(2)))).toMatch(/gap \(next is 1\)/);
    expect(offload.refusal(WORKER, env('voice.audio.segment', 'vad', seg(1, { segment_id: 'vs.u1.123.1' })))).toMatch(/segment_id must be/);
    // An open-speech announcement of the next index passes and does not advance it.
    expect(offload.refusal(WORKER, env('voice.audio.segment', 'vad', seg(1, { open: true })))).toBeUndefined();
    expect(offload.refusal(WORKER, env('voice.audio.segment', 'vad', seg(1)))).toBeUndefined();
    expect(offload.counters).toMatchObject({ accepted: 2, open_accepted: 1, gap: 1, bad_segment_id: 1 });
    offload.close();
  });

  it('a moderator limited to another guild is not given the stream; one of its guild is', async () => {
    const { bus, offload } = await setup();
    offload.onState(makeEnvelope('voice.state.connected', { guild_id: 'g1', channel_id: 'c1', session_id: 'vs', ssrc_map: {}, sample_rate: 48000, channels: 2, frame_hop_ms: 20, status: 'connected' }, { src: 'bridge', provider: 'discord', tenant: 'demo' }));
    const cap = { backend: 'wasm', threads: 1, score: 100, capacity: 2 };
    expect(offload.refusal(moderator('aaaaaaaaaaaaaaaa', 'g2'), env('dsp.capacity', 'client:aaaaaaaaaaaaaaaa', { runner_id: 'tab-aaaaaa', ...cap }))).toBeUndefined();
    expect(bus.leases()).toEqual([]);
    expect(offload.refusal(moderator('bbbbbbbbbbbbbbbb', 'g1'), env('dsp.capacity', 'client:bbbbbbbbbbbbbbbb', { runner_id: 'tab-bbbbbb', ...cap }))).toBeUndefined();
    expect(bus.leases()).toEqual([{ session_id: 'vs', user_id: 'u1', holder: 'client:bbbbbbbbbbbbbbbb/tab-bbbbbb', next_index: 0, epoch_ms: EPOCH, lease_ms: 6000 }]);
    // The other tab's segment is refused; the holder's is taken.
    expect(offload.refusal(moderator('aaaaaaaaaaaaaaaa', 'g2'), env('voice.audio.segment', 'client:aaaaaaaaaaaaaaaa', seg(0, { runner_id: 'tab-aaaaaa' })))).toMatch(/holds no dsp: grant/);
    expect(offload.refusal(moderator('bbbbbbbbbbbbbbbb', 'g1'), env('voice.audio.segment', 'client:bbbbbbbbbbbbbbbb', seg(0, { runner_id: 'tab-bbbbbb' })))).toBeUndefined();
    offload.close();
  });

  it('a tab that lags loses the stream; an agent may not act as a tab; a session may not segment an unmanaged stream', async () => {
    const { bus, offload } = await setup();
    const tab = moderator('cccccccccccccccc');
    offload.refusal(tab, env('dsp.capacity', 'client:cccccccccccccccc', { runner_id: 'tab-cccccc', backend: 'wasm', threads: 1, score: 1, capacity: 1 }));
    expect(bus.leases().at(-1)?.holder).toBe('client:cccccccccccccccc/tab-cccccc');
    expect(offload.refusal(tab, env('dsp.heartbeat', 'client:cccccccccccccccc', { runner_id: 'tab-cccccc', lag_ms: 5000 }))).toBeUndefined();
    expect(bus.leases().at(-1)).toMatchObject({ holder: 'server', next_index: 0 });
    expect(offload.refusal(WORKER, env('dsp.capacity', 'vad', { runner_id: 'tab-dddddd', backend: 'wasm', threads: 1, score: 1, capacity: 1 }))).toMatch(/agent holds no DSP lease/);
    expect(offload.refusal(tab, env('voice.audio.segment', 'client:cccccccccccccccc', { ...seg(0), session_id: 'other', segment_id: `other.u1.${EPOCH}.0` }))).toMatch(/held by nobody/);
    expect(offload.refusal(tab, env('dsp.heartbeat', 'client:cccccccccccccccc', { runner_id: 'tab-unknown', lag_ms: 0 }))).toMatch(/unknown DSP runner/);
    offload.close();
  });

  it('a lease not renewed expires back to the server; a stream the worker no longer has ends (holder null)', async () => {
    let t = 0;
    const { bus, offload, report } = await setup({ now: () => t });
    offload.refusal(moderator('eeeeeeeeeeeeeeee'), env('dsp.capacity', 'client:eeeeeeeeeeeeeeee', { runner_id: 'tab-eeeeee', backend: 'wasm', threads: 1, score: 1, capacity: 1 }));
    t = 7000;
    offload.refusal(WORKER, env('dsp.streams', 'vad', { streams: [{ session_id: 'vs', user_id: 'u1', epoch_ms: EPOCH, next_index: 0, running: false }] }));
    expect(offload.scheduler.tick()).toEqual([{ stream: 'discord\ndemo\nvs\nu1', from: 'client:eeeeeeeeeeeeeeee/tab-eeeeee', to: 'server', nextIndex: 0 }]);
    // (tick() above was called directly: announce what the timer would have, through a fresh report.)
    report([{ session_id: 'vs', user_id: 'u1', epoch_ms: EPOCH, next_index: 0, running: false }]);
    expect(bus.leases().at(-1)).toMatchObject({ holder: 'server', next_index: 0 });
    // Another tab holds it, then the worker closes the stream: that tab is told it ended.
    offload.refusal(moderator('ffffffffffffffff'), env('dsp.capacity', 'client:ffffffffffffffff', { runner_id: 'tab-ffffff', backend: 'wasm', threads: 1, score: 1, capacity: 1 }));
    report([]);
    expect(bus.leases().at(-1)).toMatchObject({ holder: null });
    expect(offload.holder('discord', 'demo', 'vs', 'u1')).toBeUndefined();
    offload.close();
  });

  it('a restarted worker (new epoch, index 0) is told to continue the stream’s epoch and index', async () => {
    const { bus, offload, report } = await setup();
    offload.refusal(WORKER, env('voice.audio.segment', 'vad', seg(0)));
    offload.refusal(WORKER, env('voice.audio.segment', 'vad', seg(1)));
    report([{ session_id: 'vs', user_id: 'u1', epoch_ms: EPOCH + 5000, next_index: 0, running: true }]);
    expect(bus.leases().at(-1)).toEqual({ session_id: 'vs', user_id: 'u1', holder: 'server', next_index: 2, epoch_ms: EPOCH, lease_ms: 6000 });
    expect(offload.counters.resyncs).toBe(1);
    offload.close();
  });
});
