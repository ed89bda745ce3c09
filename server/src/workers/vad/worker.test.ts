/**
 * The VAD worker over the real hub: labelled speech (JFK phrases in noise at 10 dB SNR with a tone, a
 * noise burst and a click) sent as the bridge sends PCM (48 kHz s16, 20 ms frames, monotonic ns),
 * with a stretch where the bridge sends nothing; segments come back on the stream's clock, and while
 * speech goes on its open segment is announced (`open: true`) about once a second.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUS_PCM_FORMAT, BusClient, decodeWav, makeEnvelope, resample, type Envelope, type PayloadOf } from '@promethean/shared';
import { agentBusFrom, loadManifest } from '@promethean/shared/node';
import { createHub, type Hub } from '../../hub/index.ts';
import { buildLabelledSpeech, JFK_WAV, phrases, scoreVad, type LabelledSpeech, type Span } from '../../dsp/labelled-speech.test-helpers.ts';
import { startVad, type RunningVad } from './index.ts';

const ORIGIN_NS = 5_000_000_000_000n;
const FRAME = 960;
const route = { src: 'discord-voice-access', provider: 'discord', tenant: 'demo' } as const;

/**
 * Checks the announcements of open segments against the finished segments: each names a segment
 * that is later published finished (same id, index and start), comes before it, and they advance by
 * `everyMs` of audio (to the 20 ms frame the worker heard last). A finished segment of D ms was
 * announced about (D + hang-over − post-pad) / everyMs times: at least ⌊(D − 100 ms) / everyMs⌋ (all
 * but its 96 ms post-pad was heard while it was open, even when a gap in the frames ends it at once),
 * at most ⌊(D + 500 ms) / everyMs⌋ (the end comes 224 ms, plus the model's 32 ms frames, after the
 * last speech; 500 ms is ample).
 */
function checkOpens(all: ReadonlyArray<PayloadOf<'voice.audio.segment'>>, everyMs: number): void {
  const finals = all.filter((s) => !s.open);
  const ms = (a: string, b: string) => Number(BigInt(a) - BigInt(b)) / 1e6;
  for (const f of finals) {
    const at = all.indexOf(f);
    const opens = all.filter((s) => s.open && s.segment_id === f.segment_id);
    for (const o of opens) {
      expect(all.indexOf(o)).toBeLessThan(at);
      expect(o).toMatchObject({ session_id: f.session_id, user_id: f.user_id, index: f.index, ts_start_ns: f.ts_start_ns, method: 'silero-v5' });
      expect(o.energy_rms).toBeUndefined();
    }
    const ends = [f.ts_start_ns, ...opens.map((o) => o.ts_end_ns)];
    for (let i = 1; i < ends.length; i++) {
      const step = ms(ends[i]!, ends[i - 1]!);
      expect(step).toBeGreaterThanOrEqual(everyMs);
      expect(step).toBeLessThan(everyMs + 20);
    }
    const d = ms(f.ts_end_ns, f.ts_start_ns);
    expect(opens.length).toBeGreaterThanOrEqual(Math.floor((d - 100) / everyMs));
    expect(opens.length).toBeLessThanOrEqual(Math.floor((d + 500) / everyMs));
  }
  // Nothing announced that never finished.
  const ids = new Set(finals.map((f) => f.segment_id));
  for (const o of all.filter((s) => s.open)) expect(ids.has(o.segment_id)).toBe(true);
}

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
    // Frames go faster than real time here, so wall-time silence padding would be meaningless (it is tested below).
    vad = await startVad(agentBusFrom(workerBus), { logLevel: 'silent', maxQueue: 10_000, silenceAfterMs: 0 });
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

  it('segments the speech on the stream clock: F1 ≥ 0.95, nothing on distractors, ids contiguous; open speech announced each second', async () => {
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
    await until('the last segment', () => segments.length > 0 && segments.at(-1)!.open !== true, 2000);
    const finals = segments.filter((s) => !s.open);
    const toSpan = (s: PayloadOf<'voice.audio.segment'>): Span => ({ start: Number(BigInt(s.ts_start_ns) - ORIGIN_NS) / 1e9, end: Number(BigInt(s.ts_end_ns) - ORIGIN_NS) / 1e9 });
    const predicted = finals.map(toSpan);
    // Truth within the part that was sent.
    const truth = labelled.speech.filter((s) => s.end <= GAP_FROM || s.start >= GAP_TO);
    const distractors = labelled.distractors.filter((d) => d.end <= GAP_FROM || d.start >= GAP_TO);
    expect(truth.length).toBeGreaterThanOrEqual(3);
    const score = scoreVad(truth, distractors, predicted.filter((p) => p.end <= GAP_FROM || p.start >= GAP_TO), labelled.signal.length / 16000);
    expect(score.f1).toBeGreaterThanOrEqual(0.95);
    expect(score.distractorFrames).toBe(0);
    for (const e of score.startErrors) expect(e).toBeLessThanOrEqual(0.064);
    for (const e of score.endErrors) expect(e).toBeLessThanOrEqual(0.3);
    expect(finals.map((s) => s.index)).toEqual(finals.map((_, i) => i));
    expect(new Set(finals.map((s) => s.segment_id)).size).toBe(finals.length);
    for (const s of finals) {
      expect(s).toMatchObject({ session_id: 'vs-01', user_id: '1300', method: 'silero-v5', silence_ms: 320, threshold: 0.3 });
      expect(s.energy_rms).toBeGreaterThan(0);
      expect(s.snr).toBeGreaterThan(3);
    }
    // Some phrases last over a second: announced while they went on.
    expect(segments.filter((s) => s.open).length).toBeGreaterThan(0);
    checkOpens(segments, 1000);
    expect(vad.runtime.counters.segments_open).toBe(segments.length - finals.length);
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
      const segs = rt.published.filter((p) => p.intent === 'voice.audio.segment').map((p) => p.payload as PayloadOf<'voice.audio.segment'>).filter((p) => !p.open);
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

describe('VadWorker announcements of open segments', () => {
  /** The clean JFK clip (11 s, phrases of 1–3 s), or its first `seconds`, as 48 kHz s16 bus frames into `worker.onPcm`. */
  function feedJfk(worker: { onPcm(env: Envelope, att: Uint8Array[]): void }, seconds = Infinity): number {
    const wav = decodeWav(new Uint8Array(readFileSync(JFK_WAV)));
    const s16 = Int16Array.from(resample(wav.mono, wav.sampleRate, 48000), (v) => Math.max(-32768, Math.min(32767, Math.round(v * 32768))));
    let k = 0;
    for (; (k + 1) * FRAME <= Math.min(s16.length, seconds * 48000); k++) {
      const ts = ORIGIN_NS + (BigInt(k * FRAME) * 1_000_000_000n) / 48000n;
      worker.onPcm(
        makeEnvelope('voice.audio.pcm', { session_id: 'vs-03', user_id: '8', ts_monotonic_ns: ts.toString(), format: BUS_PCM_FORMAT, rtp: { ssrc: 1, seq: k & 0xffff, timestamp: k * FRAME }, attachment: 0 }, route),
        [new Uint8Array(s16.buffer, k * FRAME * 2, FRAME * 2)],
      );
    }
    return k;
  }

  async function run(openEveryMs: number): Promise<Array<PayloadOf<'voice.audio.segment'>>> {
    const { SileroModel } = await import('../../dsp/silero.ts');
    const { VadWorker } = await import('./worker.ts');
    const model = await SileroModel.load();
    try {
      const counters: Record<string, number> = {};
      const out: Array<PayloadOf<'voice.audio.segment'>> = [];
      const worker = new VadWorker(
        { subscribe() {}, publish: (intent, payload) => void (intent === 'voice.audio.segment' && out.push(payload as PayloadOf<'voice.audio.segment'>)), count: (n, by = 1) => void (counters[n] = (counters[n] ?? 0) + by) },
        model,
        { demandPcm: false, maxQueue: 10_000, openEveryMs },
      );
      const sent = feedJfk(worker);
      await until('frames processed', () => (counters.frames ?? 0) >= sent);
      worker.stop();
      expect(counters.segments_open ?? 0).toBe(out.filter((s) => s.open).length);
      return out;
    } finally {
      await model.close();
    }
  }

  it('announces each open segment every openEveryMs of audio with its final id and start; 0 announces nothing, and the finals are the same', async () => {
    const half = await run(500);
    const none = await run(0);
    expect(none.filter((s) => s.open)).toEqual([]);
    const finals = half.filter((s) => !s.open);
    expect(finals.length).toBeGreaterThanOrEqual(2);
    // Announcing changes nothing about the finished segments (ids differ only by the stream's epoch).
    const bounds = (ss: typeof half) => ss.filter((s) => !s.open).map((s) => [s.index, s.ts_start_ns, s.ts_end_ns]);
    expect(bounds(half)).toEqual(bounds(none));
    expect(half.filter((s) => s.open).length).toBeGreaterThan(0);
    checkOpens(half, 500);
  });

  it('rejects a bad openEveryMs or silenceAfterMs naming the option', async () => {
    const { VadWorker } = await import('./worker.ts');
    const rt = { subscribe() {}, publish() {}, count() {} };
    expect(() => new VadWorker(rt, {} as never, { openEveryMs: Number.NaN })).toThrow(/openEveryMs/);
    expect(() => new VadWorker(rt, {} as never, { openEveryMs: -1 })).toThrow(/openEveryMs/);
    expect(() => new VadWorker(rt, {} as never, { silenceAfterMs: Number.POSITIVE_INFINITY })).toThrow(/silenceAfterMs/);
  });

  it('ends open speech when the frames stop (as the bridge stops sending), as the stream’s end would; a frame arriving after silence covered its time is dropped', async () => {
    const { SileroModel } = await import('../../dsp/silero.ts');
    const { VadWorker } = await import('./worker.ts');
    // Stop in the middle of the longest phrase (found on the clean clip by the energy rule).
    const wav = decodeWav(new Uint8Array(readFileSync(JFK_WAV)));
    const longest = phrases(wav.mono, wav.sampleRate).reduce((a, b) => (b.end - b.start > a.end - a.start ? b : a));
    const stopAt = (longest.start + longest.end) / 2;
    const model = await SileroModel.load();
    try {
      const record = () => {
        const counters: Record<string, number> = {};
        const out: Array<PayloadOf<'voice.audio.segment'>> = [];
        const rt = { subscribe() {}, publish: (intent: string, payload: unknown) => void (intent === 'voice.audio.segment' && !(payload as PayloadOf<'voice.audio.segment'>).open && out.push(payload as PayloadOf<'voice.audio.segment'>)), count: (n: string, by = 1) => void (counters[n] = (counters[n] ?? 0) + by) };
        return { rt, counters, out };
      };
      // Reference: no padding; the open speech ends when the stream is closed.
      const ref = record();
      const plain = new VadWorker(ref.rt, model, { demandPcm: false, maxQueue: 10_000, silenceAfterMs: 0 });
      const sent = feedJfk(plain, stopAt);
      await until('frames processed', () => (ref.counters.frames ?? 0) >= sent);
      expect(ref.out.length).toBeGreaterThanOrEqual(1);
      const before = ref.out.length;
      plain.stop();
      expect(ref.out.length).toBe(before + 1); // the phrase the frames stopped in
      // Padded: the same frames, then nothing; the worker runs (its timers on) and is not stopped.
      const got = record();
      const padded = new VadWorker(got.rt, model, { demandPcm: false, maxQueue: 10_000 });
      padded.start();
      try {
        expect(feedJfk(padded, stopAt)).toBe(sent);
        await until('the last segment ended by silence', () => got.out.length === ref.out.length);
        expect(got.counters.silence_padded).toBeGreaterThan(0);
        for (const [i, s] of got.out.entries()) {
          const r = ref.out[i]!;
          expect([s.index, s.ts_start_ns]).toEqual([r.index, r.ts_start_ns]);
          // The stream's end cuts at the last speech frame; silence may hold it one 32 ms model frame longer.
          expect(Number(BigInt(s.ts_end_ns) - BigInt(r.ts_end_ns)) / 1e6).toBeGreaterThanOrEqual(0);
          expect(Number(BigInt(s.ts_end_ns) - BigInt(r.ts_end_ns)) / 1e6).toBeLessThanOrEqual(64);
        }
        // The frame right after the last one, arriving now: silence already covered its time.
        const k = sent;
        const ts = ORIGIN_NS + (BigInt(k * FRAME) * 1_000_000_000n) / 48000n;
        padded.onPcm(makeEnvelope('voice.audio.pcm', { session_id: 'vs-03', user_id: '8', ts_monotonic_ns: ts.toString(), format: BUS_PCM_FORMAT, rtp: { ssrc: 1, seq: k, timestamp: k * FRAME }, attachment: 0 }, route), [new Uint8Array(FRAME * 2)]);
        await until('the late frame', () => (got.counters.frames_late ?? 0) === 1);
        expect(got.counters.frames).toBe(sent);
      } finally {
        padded.stop();
      }
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
    expect([...m.outputs].sort()).toEqual(['dsp.streams', 'error', 'health', 'voice.audio.pcm.demand', 'voice.audio.segment']);
    expect([...m.inputs].sort()).toEqual(['dsp.lease', 'voice.audio.pcm', 'voice.state.connected', 'voice.vad.settings']);
  });
});
