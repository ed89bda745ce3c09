/**
 * The STT worker's own logic on the real agent runtime and in-process bus: the span it hands the
 * engine, word times on the session clock, idempotence, opt-out, the bounded queue, bad input, and
 * the scheduling of partials (announcements of open segments) around finals.
 *
 * `FakeStt` stands in for the engine only where a real one cannot do what the test needs: hold a
 * transcription open on command (queue bounds), fail on command, and return known word times (the
 * mapping to the session clock). The real engine runs in stt.e2e.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BUS_PCM_FORMAT, makeEnvelope, resample, type Envelope, type PayloadOf } from '@promethean/shared';
import { InProcessBus, loadManifest } from '@promethean/shared/node';
import type { Stt, TranscribeInput, Transcript } from '../../speech/types.ts';
import { TranscriptionPolicy } from './config.ts';
import { startStt, type RunningStt } from './index.ts';

const FRAME = 960;
const T0 = 9_000_000_000_000n;
const MS = 1_000_000n;
const route = { src: 'discord-voice-access', provider: 'discord', tenant: 'demo' } as const;
const GUILD = '1100000000000000001';

/** An engine whose answers the test scripts; see the file comment for why it is fake. */
class FakeStt implements Stt {
  readonly name = 'fake/fake-model';
  readonly calls: TranscribeInput[] = [];
  /** When set, each call waits for `release()`. */
  hold = false;
  fail: Error | undefined;
  words: Transcript['words'] = [{ word: 'hello', start: 0.1, end: 0.4, probability: 0.9 }, { word: 'there', start: 0.5, end: 0.8, probability: 0.7 }];
  #waiting: Array<() => void> = [];

  async transcribe(input: TranscribeInput): Promise<Transcript> {
    this.calls.push(input);
    if (this.hold) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    if (this.fail) throw this.fail;
    const duration = (input.pcm?.length ?? 0) / (input.sampleRate ?? 16000);
    return {
      text: this.words.map((w) => w.word).join(' '),
      language: 'en',
      duration,
      segments: [],
      words: this.words,
      rtf: 0.25,
      models: [{ engine: 'fake-engine', model: 'fake-model', backend: 'cpu', endpoint: 'local' }],
    };
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  release(): void {
    for (const r of this.#waiting.splice(0)) r();
  }
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function tone48(seconds: number): Int16Array {
  const n = Math.round(seconds * 48000);
  return Int16Array.from({ length: n }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 300 * i) / 48000)));
}

interface Harness {
  bus: InProcessBus;
  stt: RunningStt;
  engine: FakeStt;
  transcripts: Array<{ payload: PayloadOf<'duck.transcript.segment'>; env: Envelope }>;
  demands: Array<PayloadOf<'voice.audio.pcm.demand'>>;
  errors: Array<PayloadOf<'error'>>;
  sendPcm(user: string, pcm: Int16Array, startNs: bigint, session?: string): void;
  segment(user: string, id: string, startNs: bigint, endNs: bigint, session?: string, open?: boolean): Envelope;
  counter(name: string): number;
}

let running: Harness | undefined;

async function harness(options: Parameters<typeof startStt>[2] = {}): Promise<Harness> {
  const bus = new InProcessBus();
  const engine = new FakeStt();
  const transcripts: Harness['transcripts'] = [];
  const demands: Harness['demands'] = [];
  const errors: Harness['errors'] = [];
  bus.subscribe('promethean.p.*.t.*.duck.transcript.segment', (env) => void transcripts.push({ payload: env.payload as PayloadOf<'duck.transcript.segment'>, env }));
  bus.subscribe('promethean.p.*.t.*.voice.audio.pcm.demand', (env) => void demands.push(env.payload as PayloadOf<'voice.audio.pcm.demand'>));
  bus.subscribe('promethean.p.*.t.*.error', (env) => void errors.push(env.payload as PayloadOf<'error'>));
  const stt = await startStt(bus, () => engine, { logLevel: 'silent', ...options });
  const h: Harness = {
    bus,
    stt,
    engine,
    transcripts,
    demands,
    errors,
    sendPcm(user, pcm, startNs, session = 's1') {
      for (let k = 0; (k + 1) * FRAME <= pcm.length; k++) {
        const ts = startNs + (BigInt(k * FRAME) * 1_000_000_000n) / 48000n;
        const env = makeEnvelope('voice.audio.pcm', { session_id: session, user_id: user, ts_monotonic_ns: ts.toString(), format: BUS_PCM_FORMAT, rtp: { ssrc: 1, seq: k & 0xffff, timestamp: k * FRAME }, attachment: 0 }, route);
        stt.worker.onPcm(env, [new Uint8Array(pcm.buffer, pcm.byteOffset + k * FRAME * 2, FRAME * 2)]);
      }
    },
    segment(user, id, startNs, endNs, session = 's1', open = false) {
      const env = makeEnvelope('voice.audio.segment', { session_id: session, user_id: user, segment_id: id, ts_start_ns: startNs.toString(), ts_end_ns: endNs.toString(), method: 'silero-v5', ...(open ? { open: true } : {}) }, { ...route, src: 'vad' });
      bus.publish(env);
      return env;
    },
    counter: (name) => stt.runtime.counters[name] ?? 0,
  };
  running = h;
  return h;
}

afterEach(async () => {
  await running?.stt.stop();
  running = undefined;
});

describe('SttWorker', () => {
  it('transcribes the segment’s span from the ring (16 kHz) and publishes a final transcript on the session clock', async () => {
    const h = await harness({ demandPcm: false });
    const pcm = tone48(2);
    h.sendPcm('42', pcm, T0);
    const seg = h.segment('42', 's1.42.1.0', T0 + 500n * MS, T0 + 1500n * MS);
    await until('a transcript', () => h.transcripts.length === 1);
    const input = h.engine.calls[0]!;
    expect(input.sampleRate).toBe(16000);
    expect(input.words).toBe(true);
    // The span's samples, as the shared resampler gives them for the whole signal.
    const ref = resample(Float32Array.from(pcm, (v) => v / 32768), 48000, 16000).subarray(8000, 24000);
    expect(input.pcm!.length).toBe(16000);
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(input.pcm![i]! - Math.round(ref[i]! * 32768)));
    expect(worst).toBeLessThanOrEqual(1);
    const { payload, env } = h.transcripts[0]!;
    expect(payload).toMatchObject({
      session_id: 's1', segment_id: 's1.42.1.0', speaker: '42', text: 'hello there', final: true, language: 'en', rtf: 0.25, tokens: 2,
      ts_start_ns: (T0 + 500n * MS).toString(), ts_end_ns: (T0 + 1500n * MS).toString(),
      words: [{ word: 'hello', start_ms: 100, end_ms: 400, p: 0.9 }, { word: 'there', start_ms: 500, end_ms: 800, p: 0.7 }],
    });
    expect(payload.confidence).toBeCloseTo(0.8, 10);
    expect(env.models).toEqual([{ name: 'fake-engine/fake-model', version: 'cpu' }]);
    expect(env.corr).toBe(seg.id);
    expect(env.src).toBe('stt');
  });

  it('maps word times across a gap in the audio to where each word was spoken', async () => {
    const h = await harness({ demandPcm: false });
    h.sendPcm('42', tone48(0.4), T0);
    h.sendPcm('42', tone48(0.4), T0 + 5000n * MS); // a new run: the bridge sent nothing for 4.6 s
    // The cut is 400 ms, 300 ms of joining silence, 400 ms: a word at 0.8 s of it is 100 ms into the second run.
    h.engine.words = [{ word: 'early', start: 0.1, end: 0.3 }, { word: 'late', start: 0.8, end: 1.0 }];
    h.segment('42', 'gap', T0, T0 + 5400n * MS);
    await until('a transcript', () => h.transcripts.length === 1);
    const words = h.transcripts[0]!.payload.words!;
    expect(words[0]).toEqual({ word: 'early', start_ms: 100, end_ms: 300 });
    expect(words[1]).toEqual({ word: 'late', start_ms: 5100, end_ms: 5300 });
  });

  it('is idempotent by segment id: a redelivered segment (queued or done) is not transcribed again', async () => {
    const h = await harness({ demandPcm: false });
    h.sendPcm('42', tone48(1), T0);
    h.engine.hold = true;
    h.segment('42', 'a', T0, T0 + 500n * MS);
    h.segment('42', 'a', T0, T0 + 500n * MS);
    await until('the call', () => h.engine.waiting === 1);
    h.engine.hold = false;
    h.engine.release();
    await until('a transcript', () => h.transcripts.length === 1);
    h.segment('42', 'a', T0, T0 + 500n * MS);
    h.segment('42', 'b', T0 + 500n * MS, T0 + 900n * MS);
    await until('the second transcript', () => h.transcripts.length === 2);
    await h.stt.worker.idle();
    expect(h.engine.calls).toHaveLength(2);
    expect(h.transcripts.map((t) => t.payload.segment_id)).toEqual(['a', 'b']);
    expect(h.counter('segments_duplicate')).toBe(2);
  });

  it('never transcribes an opted-out user nor keeps their PCM; others in the session are transcribed', async () => {
    const policy = new TranscriptionPolicy({ enabled: true, tenants: { 'discord/demo': { guilds: { [GUILD]: { opt_out: ['7'] } } } } });
    const h = await harness({ demandPcm: false, policy });
    h.bus.publish(makeEnvelope('voice.state.connected', { guild_id: GUILD, channel_id: '2', session_id: 's1', ssrc_map: {}, sample_rate: 48000, channels: 2, frame_hop_ms: 20, status: 'connected' }, route));
    await until('the session', () => h.counter('handled.voice.state.connected') === 1);
    h.sendPcm('7', tone48(1), T0);
    h.sendPcm('8', tone48(1), T0);
    expect(h.stt.worker.speakers).toBe(1);
    expect(h.counter('pcm_opted_out')).toBe(50);
    h.segment('7', 'x', T0, T0 + 800n * MS);
    h.segment('8', 'y', T0, T0 + 800n * MS);
    await until('a transcript', () => h.transcripts.length === 1);
    await h.stt.worker.idle();
    expect(h.transcripts[0]!.payload.speaker).toBe('8');
    expect(h.engine.calls).toHaveLength(1);
    expect(h.counter('segments_opted_out')).toBe(1);
  });

  it('with the session’s guild unknown, skips a user opted out in any guild of the tenant', async () => {
    const policy = new TranscriptionPolicy({ enabled: true, tenants: { 'discord/demo': { guilds: { [GUILD]: { opt_out: ['7'] } } } } });
    const h = await harness({ demandPcm: false, policy });
    h.sendPcm('7', tone48(1), T0, 'unknown-session');
    h.segment('7', 'x', T0, T0 + 800n * MS, 'unknown-session');
    await until('the segment handled', () => h.counter('handled.voice.audio.segment') === 1);
    expect(h.stt.worker.speakers).toBe(0);
    expect(h.counter('segments_opted_out')).toBe(1);
    expect(h.engine.calls).toHaveLength(0);
  });

  it('bounds its queue: with the engine stuck, the oldest waiting segments are dropped, counted and reported DEGRADED', async () => {
    const h = await harness({ demandPcm: false, maxQueue: 2, concurrency: 1 });
    h.sendPcm('42', tone48(2), T0);
    h.engine.hold = true;
    for (let i = 0; i < 5; i++) h.segment('42', `q${i}`, T0 + BigInt(i) * 300n * MS, T0 + BigInt(i + 1) * 300n * MS);
    await until('five segments handled', () => h.counter('handled.voice.audio.segment') === 5);
    expect(h.engine.waiting).toBe(1);
    expect(h.stt.worker.queued).toBe(2);
    expect(h.counter('segments_dropped')).toBe(2);
    expect(h.stt.runtime.state).toBe('DEGRADED');
    h.engine.hold = false;
    h.engine.release();
    await until('three transcripts', () => h.transcripts.length === 3);
    await h.stt.worker.idle();
    expect(h.stt.runtime.state).toBe('RUNNING');
    expect(h.transcripts.map((t) => t.payload.segment_id)).toEqual(['q0', 'q3', 'q4']);
    // A dropped segment was never done: delivered again, it is transcribed.
    h.segment('42', 'q1', T0 + 300n * MS, T0 + 600n * MS);
    await until('the redelivered one', () => h.transcripts.length === 4);
  });

  it('counts an engine failure without marking the segment done; a segment with no audio is counted and skipped', async () => {
    const h = await harness({ demandPcm: false });
    h.sendPcm('42', tone48(1), T0);
    h.engine.fail = new Error('engine down');
    h.segment('42', 'f', T0, T0 + 500n * MS);
    await until('the failure', () => h.counter('stt_errors') === 1);
    expect(h.counter('stt_errors.internal')).toBe(1);
    h.engine.fail = undefined;
    h.segment('42', 'f', T0, T0 + 500n * MS);
    await until('the transcript', () => h.transcripts.length === 1);
    h.segment('99', 'nobody', T0, T0 + 500n * MS);
    h.segment('42', 'later', T0 + 60_000n * MS, T0 + 61_000n * MS);
    await until('both handled', () => h.counter('segments_without_audio') === 2);
    expect(h.engine.calls).toHaveLength(2);
  });

  it('answers bad input with a typed error envelope and keeps running', async () => {
    const h = await harness({ demandPcm: false });
    const pcm = (payload: Record<string, unknown>, att: Uint8Array[]) => h.bus.publish(makeEnvelope('voice.audio.pcm', payload as never, route), att);
    pcm({ session_id: 's1', user_id: '1', ts_monotonic_ns: '1', format: { rate_hz: 16000, channels: 1, codec: 'pcm_s16le' }, rtp: { ssrc: 1, seq: 0, timestamp: 0 }, attachment: 0 }, [new Uint8Array(640)]);
    pcm({ session_id: 's1', user_id: '1', ts_monotonic_ns: '1', format: BUS_PCM_FORMAT, rtp: { ssrc: 1, seq: 0, timestamp: 0 }, attachment: 0 }, [new Uint8Array(3)]);
    pcm({ session_id: 's1', user_id: '1', ts_monotonic_ns: '1', format: BUS_PCM_FORMAT, rtp: { ssrc: 1, seq: 0, timestamp: 0 }, attachment: 0 }, []);
    h.bus.publish(makeEnvelope('voice.audio.segment', { session_id: 's1', user_id: '1' } as never, route));
    h.bus.publish(makeEnvelope('voice.audio.segment', { session_id: 's1', user_id: '1', segment_id: 'z', ts_start_ns: '5', ts_end_ns: 'x' } as never, route));
    await until('five errors', () => h.errors.length === 5);
    expect(h.errors.map((e) => e.code)).toEqual(['unsupported', 'bad_frame', 'bad_frame', 'schema', 'schema']);
    expect(h.errors[3]!.path).toBe('payload.segment_id');
    expect(h.errors[4]!.path).toBe('payload.ts_end_ns');
    h.sendPcm('1', tone48(1), T0);
    h.segment('1', 'ok', T0, T0 + 500n * MS);
    await until('a transcript after bad input', () => h.transcripts.length === 1);
  });

  it('leases PCM for each connected session and ends the leases when it stops', async () => {
    const h = await harness({});
    h.bus.publish(makeEnvelope('voice.state.connected', { guild_id: GUILD, channel_id: '2', session_id: 's9', ssrc_map: {}, sample_rate: 48000, channels: 2, frame_hop_ms: 20, status: 'connected' }, route));
    await until('a lease', () => h.demands.length === 1);
    expect(h.demands[0]).toEqual({ session_id: 's9', consumer: 'stt', ttl_ms: 30_000 });
    await h.stt.stop();
    await until('the lease ended', () => h.demands.length === 2);
    expect(h.demands[1]).toMatchObject({ session_id: 's9', consumer: 'stt', user_ids: [] });
  });

  it('drops a session’s rings when the session ends', async () => {
    const h = await harness({ demandPcm: false });
    const state = (status: 'connected' | 'disconnected') => makeEnvelope('voice.state.connected', { guild_id: GUILD, channel_id: '2', session_id: 's1', ssrc_map: {}, sample_rate: 48000, channels: 2, frame_hop_ms: 20, status }, route);
    h.bus.publish(state('connected'));
    await until('the session', () => h.counter('handled.voice.state.connected') === 1);
    h.sendPcm('42', tone48(0.2), T0);
    expect(h.stt.worker.speakers).toBe(1);
    h.bus.publish(state('disconnected'));
    await until('the end', () => h.counter('handled.voice.state.connected') === 2);
    expect(h.stt.worker.speakers).toBe(0);
  });
});

describe('SttWorker partials', () => {
  /** An announcement of the open segment `id` of `user`: the span heard so far. */
  const open = (h: Harness, user: string, id: string, startNs: bigint, endNs: bigint) => h.segment(user, id, startNs, endNs, 's1', true);
  const seconds = (input: TranscribeInput) => input.pcm!.length / input.sampleRate!;

  it('transcribes the span heard so far as a partial (final: false, same segment id); the final follows with the whole span', async () => {
    const h = await harness({ demandPcm: false });
    h.sendPcm('42', tone48(3), T0);
    const ann = open(h, '42', 'long', T0 + 200n * MS, T0 + 1200n * MS);
    await until('the partial', () => h.transcripts.length === 1);
    expect(seconds(h.engine.calls[0]!)).toBeCloseTo(1, 6);
    expect(h.engine.calls[0]!.words).toBe(false);
    expect(h.transcripts[0]!.payload).toMatchObject({ segment_id: 'long', speaker: '42', final: false, text: 'hello there', ts_start_ns: (T0 + 200n * MS).toString(), ts_end_ns: (T0 + 1200n * MS).toString() });
    expect(h.transcripts[0]!.env.corr).toBe(ann.id);
    h.segment('42', 'long', T0 + 200n * MS, T0 + 2700n * MS);
    await until('the final', () => h.transcripts.length === 2);
    expect(seconds(h.engine.calls[1]!)).toBeCloseTo(2.5, 6);
    expect(h.engine.calls[1]!.words).toBe(true);
    expect(h.transcripts[1]!.payload).toMatchObject({ segment_id: 'long', final: true });
    expect(h.counter('partials')).toBe(1);
    expect(h.counter('transcripts')).toBe(1);
  });

  it('finals come first: a partial waits while a final waits or runs, and a newer announcement replaces the waiting one', async () => {
    const h = await harness({ demandPcm: false });
    for (const u of ['42', '43', '44']) h.sendPcm(u, tone48(3), T0);
    h.engine.hold = true;
    h.segment('42', 'a', T0, T0 + 500n * MS);
    await until('final a running', () => h.engine.waiting === 1);
    open(h, '43', 'x', T0, T0 + 1000n * MS);
    open(h, '43', 'x', T0, T0 + 2000n * MS);
    h.segment('44', 'b', T0, T0 + 700n * MS);
    await until('all handled', () => h.counter('handled.voice.audio.segment') === 4);
    expect(h.stt.worker.partialsWaiting).toBe(1);
    expect(h.counter('partials_skipped')).toBe(1);
    expect(h.engine.calls).toHaveLength(1);
    h.engine.release();
    await until('final b running', () => h.engine.waiting === 1 && h.engine.calls.length === 2);
    expect(seconds(h.engine.calls[1]!)).toBeCloseTo(0.7, 6);
    h.engine.release();
    await until('the partial running', () => h.engine.waiting === 1 && h.engine.calls.length === 3);
    // The newest announcement: 2 s heard.
    expect(seconds(h.engine.calls[2]!)).toBeCloseTo(2, 6);
    h.engine.hold = false;
    h.engine.release();
    await until('three transcripts', () => h.transcripts.length === 3);
    await h.stt.worker.idle();
    expect(h.transcripts.map((t) => [t.payload.segment_id, t.payload.final])).toEqual([['a', true], ['b', true], ['x', false]]);
    expect(h.engine.calls).toHaveLength(3);
  });

  it('runs one partial per speaker at a time; a partial whose final arrived meanwhile, or announced after it, is never published', async () => {
    const h = await harness({ demandPcm: false, partialConcurrency: 2 });
    for (const u of ['42', '43']) h.sendPcm(u, tone48(3), T0);
    h.engine.hold = true;
    open(h, '42', 'x', T0, T0 + 1000n * MS);
    open(h, '43', 'y', T0, T0 + 1000n * MS);
    await until('both partials running', () => h.engine.waiting === 2);
    open(h, '42', 'x', T0, T0 + 2000n * MS);
    await until('the third handled', () => h.counter('handled.voice.audio.segment') === 3);
    expect(h.engine.waiting).toBe(2);
    expect(h.stt.worker.partialsWaiting).toBe(1);
    // x ends while its first partial runs: the final starts at once; the waiting partial is dropped.
    h.segment('42', 'x', T0, T0 + 2500n * MS);
    await until('the final running', () => h.engine.waiting === 3);
    expect(h.stt.worker.partialsWaiting).toBe(0);
    h.engine.hold = false;
    h.engine.release();
    await until('two transcripts', () => h.transcripts.length === 2);
    await h.stt.worker.idle();
    expect(h.transcripts.map((t) => [t.payload.segment_id, t.payload.final]).sort()).toEqual([['x', true], ['y', false]]);
    expect(h.counter('partials_late')).toBe(1);
    // An announcement of x after its final: ignored, never transcribed.
    open(h, '42', 'x', T0, T0 + 2400n * MS);
    await until('the late one handled', () => h.counter('handled.voice.audio.segment') === 5);
    await h.stt.worker.idle();
    expect(h.counter('partials_late')).toBe(2);
    expect(h.engine.calls).toHaveLength(3);
    expect(h.transcripts).toHaveLength(2);
  });

  it('with partials off, announcements are counted and ignored; a partial that fails is counted apart from finals', async () => {
    const off = await harness({ demandPcm: false, partials: false });
    off.sendPcm('42', tone48(2), T0);
    open(off, '42', 'x', T0, T0 + 1000n * MS);
    await until('handled', () => off.counter('handled.voice.audio.segment') === 1);
    expect(off.counter('partials_off')).toBe(1);
    expect(off.engine.calls).toHaveLength(0);
    await off.stt.stop();

    const h = await harness({ demandPcm: false });
    h.sendPcm('42', tone48(2), T0);
    h.engine.fail = new Error('engine down');
    open(h, '42', 'y', T0, T0 + 1000n * MS);
    await until('the failure', () => h.counter('partial_errors') === 1);
    expect(h.counter('partial_errors.internal')).toBe(1);
    expect(h.counter('stt_errors')).toBe(0);
    expect(h.transcripts).toHaveLength(0);
  });

  it('rejects a bad partialConcurrency naming the option', async () => {
    await expect(harness({ partialConcurrency: 1.5 })).rejects.toThrow(/partialConcurrency/);
  });
});

describe('stt agent.yml', () => {
  it('is a valid manifest declaring what the worker publishes', async () => {
    const m = await loadManifest(new URL('./agent.yml', import.meta.url).pathname);
    expect(m.id).toBe('stt');
    expect(m.kind).toBe('worker');
    expect([...m.outputs].sort()).toEqual(['duck.transcript.segment', 'error', 'health', 'voice.audio.pcm.demand']);
    expect([...m.inputs].sort()).toEqual(['voice.audio.pcm', 'voice.audio.segment', 'voice.state.connected']);
  });
});
