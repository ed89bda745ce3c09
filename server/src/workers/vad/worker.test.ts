/**
 * The VAD worker over the real hub: labelled speech (JFK phrases in noise at 10 dB SNR with a tone, a
 * noise burst and a click) sent as the bridge sends PCM (48 kHz s16, 20 ms frames, monotonic ns),
 * with a stretch where the bridge sends nothing; segments come back on the stream's clock.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUS_PCM_FORMAT, BusClient, makeEnvelope, resample, type Envelope, type PayloadOf } from '@promethean/shared';
import { agentBusFrom, loadManifest } from '@promethean/shared/node';
import { createHub, type Hub } from '../../hub/index.ts';
import { buildLabelledSpeech, scoreVad, type LabelledSpeech, type Span } from '../../dsp/labelled-speech.test-helpers.ts';
import { startVad, type RunningVad } from './index.ts';

const ORIGIN_NS = 5_000_000_000_000n;
const FRAME = 960;
const route = { src: 'discord-voice-access', provider: 'discord', tenant: 'demo' } as const;

async function until(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const end = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('VAD worker over the real hub', () => {
  let hub: Hub;
  let workerBus: BusClient;
  let bridge: BusClient;
  let vad: RunningVad;
  let labelled: LabelledSpeech;
  const segments: Array<PayloadOf<'voice.audio.segment'>> = [];
  const demands: Array<PayloadOf<'voice.audio.pcm.demand'>> = [];
  const errors: Envelope[] = [];
  /** Seconds of the labelled signal left out (the bridge sent nothing): [GAP_FROM, GAP_TO). */
  const GAP_FROM = 4.6;
  const GAP_TO = 6.6;

  const frames = () => vad.runtime.counters.frames ?? 0;

  beforeAll(async () => {
    hub = await createHub({ dataDir: mkdtempSync(join(tmpdir(), 'vad-hub-')), writeRuntimeFile: false });
    workerBus = new BusClient({ url: hub.url, token: hub.agentKey });
    bridge = new BusClient({ url: hub.url, token: hub.agentKey });
    await Promise.all([workerBus.connect(), bridge.connect()]);
    const subs = [
      bridge.subscribe('promethean.p.discord.t.demo.voice.audio.segment', (env) => void segments.push(env.payload as PayloadOf<'voice.audio.segment'>)),
      bridge.subscribe('promethean.p.discord.t.demo.voice.audio.pcm.demand', (env) => void demands.push(env.payload as PayloadOf<'voice.audio.pcm.demand'>)),
      bridge.subscribe('promethean.p.discord.t.demo.error', (env) => void errors.push(env)),
    ];
    await Promise.all(subs.map((s) => s.ready));
    vad = await startVad(agentBusFrom(workerBus), { logLevel: 'silent', maxQueue: 10_000 });
    labelled = buildLabelledSpeech(10);
  });

  afterAll(async () => {
    await vad?.stop();
    workerBus?.close();
    bridge?.close();
    await hub?.close();
  });

  it('leases decoded PCM for a connected session', async () => {
    const state = { guild_id: '1', channel_id: '2', session_id: 'vs-01', ssrc_map: { '11111': '1300' }, sample_rate: 48000, channels: 2, frame_hop_ms: 20, status: 'connected' } as const;
    // The worker's subscriptions are acknowledged once a publish round-trips; publish until it answers.
    await until('a pcm demand lease', () => {
      if (demands.length === 0) bridge.publish(makeEnvelope('voice.state.connected', state, route));
      return demands.length > 0;
    });
    expect(demands[0]).toMatchObject({ session_id: 'vs-01', consumer: 'vad' });
    expect(demands[0]!.user_ids).toBeUndefined();
  });

  it('segments the speech on the stream clock: F1 ≥ 0.95, nothing on distractors, ids contiguous', async () => {
    const pcm48 = resample(labelled.signal, 16000, 48000);
    const s16 = Int16Array.from(pcm48, (v) => Math.max(-32768, Math.min(32767, Math.round(v * 32768))));
    let sent = 0;
    for (let k = 0; (k + 1) * FRAME <= s16.length; k++) {
      const t = (k * FRAME) / 48000;
      if (t >= GAP_FROM && t < GAP_TO) continue; // the bridge sends nothing here
      const frame = s16.slice(k * FRAME, (k + 1) * FRAME);
      const ts = ORIGIN_NS + (BigInt(k * FRAME) * 1_000_000_000n) / 48000n;
      const env = makeEnvelope('voice.audio.pcm', { session_id: 'vs-01', user_id: '1300', ts_monotonic_ns: ts.toString(), format: BUS_PCM_FORMAT, rtp: { ssrc: 11111, seq: k & 0xffff, timestamp: (k * FRAME) >>> 0 }, attachment: 0 }, route);
      bridge.publish(env, [new Uint8Array(frame.buffer)]);
      sent++;
      // Keep at most ~1 s in flight: the hub drops the oldest media frames of a subscriber that lags.
      if (sent % 25 === 0) await until('the worker to keep up', () => frames() >= sent - 50);
    }
    await until('every frame processed', () => frames() >= sent);
    await vad.stop(); // ends open speech
    await until('the last segment', () => segments.length > 0 && segments.at(-1)!.ts_end_ns !== undefined, 2000);
    const toSpan = (s: PayloadOf<'voice.audio.segment'>): Span => ({ start: Number(BigInt(s.ts_start_ns) - ORIGIN_NS) / 1e9, end: Number(BigInt(s.ts_end_ns) - ORIGIN_NS) / 1e9 });
    const predicted = segments.map(toSpan);
    // Truth within the part that was sent.
    const truth = labelled.speech.filter((s) => s.end <= GAP_FROM || s.start >= GAP_TO);
    const distractors = labelled.distractors.filter((d) => d.end <= GAP_FROM || d.start >= GAP_TO);
    expect(truth.length).toBeGreaterThanOrEqual(3);
    const score = scoreVad(truth, distractors, predicted.filter((p) => p.end <= GAP_FROM || p.start >= GAP_TO), labelled.signal.length / 16000);
    expect(score.f1).toBeGreaterThanOrEqual(0.95);
    expect(score.distractorFrames).toBe(0);
    for (const e of score.startErrors) expect(e).toBeLessThanOrEqual(0.064);
    for (const e of score.endErrors) expect(e).toBeLessThanOrEqual(0.3);
    expect(segments.map((s) => s.index)).toEqual(segments.map((_, i) => i));
    expect(new Set(segments.map((s) => s.segment_id)).size).toBe(segments.length);
    for (const s of segments) {
      expect(s).toMatchObject({ session_id: 'vs-01', user_id: '1300', method: 'silero-v5', silence_ms: 320, threshold: 0.3 });
      expect(s.energy_rms).toBeGreaterThan(0);
      expect(s.snr).toBeGreaterThan(3);
    }
    expect(errors).toEqual([]);
  });
});

describe('VadWorker settings and bad input', () => {
  /** Records what the worker publishes and counts; the worker's real collaborators otherwise. */
  function recordingRuntime() {
    const published: Array<{ intent: string; payload: unknown }> = [];
    const counters: Record<string, number> = {};
    return {
      published,
      counters,
      subscribe() {},
      publish(intent: string, payload: unknown) {
        published.push({ intent, payload });
      },
      count(name: string, by = 1) {
        counters[name] = (counters[name] ?? 0) + by;
      },
    };
  }
  const settingsEnv = (payload: PayloadOf<'voice.vad.settings'>) => makeEnvelope('voice.vad.settings', payload, { src: 'console', provider: 'discord', tenant: 'demo' });

  it('applies voice.vad.settings live to a session and rejects bad values naming the field', async () => {
    const { SileroModel } = await import('../../dsp/silero.ts');
    const { VadWorker } = await import('./worker.ts');
    const model = await SileroModel.load();
    try {
      const rt = recordingRuntime();
      const worker = new VadWorker(rt, model, { demandPcm: false, maxQueue: 10_000 });
      worker.onSettings(settingsEnv({ session_id: 'vs-02', redemption_ms: 640, positive_threshold: 0.5, negative_threshold: 0.35 }));
      expect(() => worker.onSettings(settingsEnv({ session_id: 'vs-02', negative_threshold: 0.9 }))).toThrow(/negativeThreshold/);
      const labelled = buildLabelledSpeech(10);
      const s16 = Int16Array.from(resample(labelled.signal.subarray(0, 16000 * 4), 16000, 48000), (v) => Math.round(v * 32767));
      for (let k = 0; (k + 1) * FRAME <= s16.length; k++) {
        const ts = ORIGIN_NS + (BigInt(k * FRAME) * 1_000_000_000n) / 48000n;
        worker.onPcm(
          makeEnvelope('voice.audio.pcm', { session_id: 'vs-02', user_id: '7', ts_monotonic_ns: ts.toString(), format: BUS_PCM_FORMAT, rtp: { ssrc: 1, seq: k, timestamp: k * FRAME }, attachment: 0 }, route),
          [new Uint8Array(s16.buffer, k * FRAME * 2, FRAME * 2)],
        );
      }
      await until('frames processed', () => (rt.counters.frames ?? 0) >= Math.floor(s16.length / FRAME));
      worker.stop();
      const segs = rt.published.filter((p) => p.intent === 'voice.audio.segment').map((p) => p.payload as PayloadOf<'voice.audio.segment'>);
      expect(segs.length).toBeGreaterThan(0);
      for (const s of segs) expect(s).toMatchObject({ silence_ms: 640, threshold: 0.5 });
      expect(() =>
        worker.onPcm(makeEnvelope('voice.audio.pcm', { session_id: 'vs-02', user_id: '7', ts_monotonic_ns: '1', format: BUS_PCM_FORMAT, rtp: { ssrc: 1, seq: 0, timestamp: 0 }, attachment: 0 }, route), []),
      ).not.toThrow(); // stopped: ignored
      const fresh = new VadWorker(recordingRuntime(), model, { demandPcm: false });
      expect(() =>
        fresh.onPcm(makeEnvelope('voice.audio.pcm', { session_id: 'vs-02', user_id: '7', ts_monotonic_ns: '1', format: BUS_PCM_FORMAT, rtp: { ssrc: 1, seq: 0, timestamp: 0 }, attachment: 0 }, route), [new Uint8Array(3)]),
      ).toThrow(/whole s16 samples/);
      expect(() => fresh.onPcm(makeEnvelope('voice.audio.pcm', { session_id: 'vs-02' } as never, route), [])).toThrow(/voice.audio.pcm payload/);
      fresh.stop();
    } finally {
      await model.close();
    }
  });
});

describe('VadWorker when the model fails', () => {
  it('counts a stream error and closes the stream without an unhandled rejection', async () => {
    const { SileroModel } = await import('../../dsp/silero.ts');
    const { VadWorker } = await import('./worker.ts');
    const model = await SileroModel.load();
    await model.close(); // every run now rejects with InvalidStateError
    const counters: Record<string, number> = {};
    const worker = new VadWorker({ subscribe() {}, publish() {}, count: (n, by = 1) => void (counters[n] = (counters[n] ?? 0) + by) }, model, { demandPcm: false });
    for (let k = 0; k < 3; k++) {
      worker.onPcm(
        makeEnvelope('voice.audio.pcm', { session_id: 's', user_id: 'u', ts_monotonic_ns: String(20_000_000 * k), format: BUS_PCM_FORMAT, rtp: { ssrc: 1, seq: k, timestamp: k * FRAME }, attachment: 0 }, route),
        [new Uint8Array(FRAME * 2)],
      );
    }
    await until('the stream error', () => (counters.stream_errors ?? 0) >= 1);
    expect(worker.streams).toBe(0);
    worker.stop();
  });
});

describe('vad agent.yml', () => {
  it('is a valid manifest declaring what the worker publishes', async () => {
    const m = await loadManifest(new URL('./agent.yml', import.meta.url).pathname);
    expect(m.id).toBe('vad');
    expect([...m.outputs].sort()).toEqual(['error', 'health', 'voice.audio.pcm.demand', 'voice.audio.segment']);
    expect([...m.inputs].sort()).toEqual(['voice.audio.pcm', 'voice.state.connected', 'voice.vad.settings']);
  });
});
