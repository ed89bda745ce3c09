/**
 * Caption latency, part of `promethean bench stt`: four speakers talking in turn, through the real
 * pipeline. Real read speech (the speech corpus: the JFK clip and the LibriVox clips where their
 * Debian package is installed) is sent as the bridge sends it: 48 kHz s16 20 ms frames in real time on
 * the session clock, each talk-spurt followed by five frames of silence (Discord's `F8 FF FE` frames,
 * decoded) and then nothing until that speaker talks again. Through the real hub, the server's VAD
 * worker (Silero v5) and the STT worker (speech.yml's default engine on the local speech server,
 * started as `promethean start` starts it: one thread per engine, not pinned), in this process.
 *
 * Three rounds of four turns (one with --quick), each round run with partials on and then off, so
 * both see the same share of a shared machine's load.
 *
 * Measured, in wall time on one clock (this process sends and receives):
 * - final: from the end of each turn's speech (the clean clip's last phrase end by the energy rule
 *   of the VAD tests, independent of the VAD under test) to the arrival of the final transcript of the
 *   turn's last segment. With partials on, and with them off as the baseline (same run).
 * - partial: each partial caption's age when it arrives: arrival − when the audio up to the end of
 *   its span was sent (what the caption lags behind the live voice).
 * - first partial: from the start of a turn's speech to its first partial caption.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUS_PCM_FORMAT, BusClient, decodeWav, makeEnvelope, resample, type PayloadOf } from '@promethean/shared';
import { agentBusFrom, percentile } from '@promethean/shared/node';
import { JFK_SPEECH_SECONDS, phrases } from '../../server/src/dsp/labelled-speech.test-helpers.ts';
import { SileroModel } from '../../server/src/dsp/silero.ts';
import { startTempHub, type TempHub } from '../../server/src/hub/testing.ts';
import { parseSpeechConfig } from '../../server/src/speech/config.ts';
import { startLocalSpeechServer, type LocalSpeechServer } from '../../server/src/speech/local-server.ts';
import { trackSubscriptions } from '../../server/src/workers/indexer/index.ts';
import { parseTranscriptionConfig, startStt, sttFromConfig, TranscriptionPolicy, type SttFor } from '../../server/src/workers/stt/index.ts';
import { startVad } from '../../server/src/workers/vad/index.ts';
import type { BenchContext, BenchRow } from './types.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FRAME = 960;
const FRAME_NS = 20_000_000n;
const ORIGIN_NS = 7_000_000_000_000n;
/** Silence between one speaker's turn and the next speaker's, in frames (0.7 s). */
const TURN_GAP_FRAMES = 35;
/** Audio sent before the first phrase and after the last, s (breath, the client's voice gate). */
const LEAD_S = 0.2;
const TAIL_S = 0.1;
/** Discord's five silence frames after a talk-spurt. */
const SILENCE_FRAMES = 5;
const SPEAKERS = ['1000000000000000001', '1000000000000000002', '1000000000000000003', '1000000000000000004'];
const route = { src: 'discord-voice-access', provider: 'discord', tenant: 'demo' } as const;

interface Clip {
  id: string;
  /** 48 kHz s16: the frames to send (lead, speech, tail, then the silence frames). */
  frames: Int16Array[];
  /** Speech start and end, seconds from the first frame sent (energy rule on the clean clip). */
  speechStart: number;
  speechEnd: number;
}

interface Turn {
  speaker: string;
  clip: Clip;
  /** Session-clock frame index of its first frame. */
  startFrame: number;
}

interface Received {
  at: number;
  payload: PayloadOf<'duck.transcript.segment'>;
}

function loadClips(ctx: BenchContext): Clip[] {
  const corpus = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/speech/corpus.json'), 'utf8')) as { items: Array<{ id: string; path: string }> };
  const clips: Clip[] = [];
  for (const item of corpus.items) {
    const path = isAbsolute(item.path) ? item.path : join(ROOT, item.path);
    if (!existsSync(path)) {
      ctx.log(`captions: ${item.id} not installed (${path}); left out`);
      continue;
    }
    const wav = decodeWav(new Uint8Array(readFileSync(path)), path);
    // The JFK recording ends in crowd noise: the speaker's turn ends with the speech.
    const mono = item.id === 'jfk' ? wav.mono.subarray(0, Math.round(JFK_SPEECH_SECONDS * wav.sampleRate)) : wav.mono;
    const spans = phrases(mono, wav.sampleRate);
    if (spans.length === 0) continue;
    const from = Math.max(0, spans[0]!.start - LEAD_S);
    const to = Math.min(mono.length / wav.sampleRate, spans.at(-1)!.end + TAIL_S);
    const cut = mono.subarray(Math.round(from * wav.sampleRate), Math.round(to * wav.sampleRate));
    const pcm48 = resample(cut, wav.sampleRate, 48000);
    const frames: Int16Array[] = [];
    for (let k = 0; (k + 1) * FRAME <= pcm48.length; k++) {
      frames.push(Int16Array.from(pcm48.subarray(k * FRAME, (k + 1) * FRAME), (v) => Math.max(-32768, Math.min(32767, Math.round(v * 32768)))));
    }
    for (let k = 0; k < SILENCE_FRAMES; k++) frames.push(new Int16Array(FRAME));
    clips.push({ id: item.id, frames, speechStart: spans[0]!.start - from, speechEnd: spans.at(-1)!.end - from });
  }
  if (!clips.some((c) => c.id === 'jfk')) throw new Error('captions: the JFK clip (test/fixtures/audio/jfk_16k.wav) is missing');
  return clips;
}

function schedule(clips: Clip[], turns: number): Turn[] {
  const out: Turn[] = [];
  let frame = 25; // half a second in
  for (let i = 0; i < turns; i++) {
    const clip = clips[i % clips.length]!;
    out.push({ speaker: SPEAKERS[i % SPEAKERS.length]!, clip, startFrame: frame });
    frame += clip.frames.length + TURN_GAP_FRAMES;
  }
  return out;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface RunResult {
  /** Per turn: end of speech → the final of its last segment, ms (undefined: none came). */
  finals: Array<number | undefined>;
  /** Each partial's age on arrival, ms. */
  partials: number[];
  /** Per turn with partials: start of speech → first partial, ms. */
  firstPartials: number[];
  /** Partials per turn. */
  partialsPerTurn: number[];
  /** Per final: the STT worker's own `latency_ms` (segment published → transcript) and `rtf`. */
  engine: Array<{ latency: number; rtf: number }>;
  counters: Record<string, number>;
}

/** One pass of the schedule through fresh VAD and STT workers on the shared hub and speech server. */
async function runOnce(ctx: BenchContext, hub: TempHub, sttFor: SttFor, policy: TranscriptionPolicy, model: SileroModel, turns: Turn[], session: string, partials: boolean): Promise<RunResult> {
  const clients = [0, 1, 2].map(() => new BusClient({ url: hub.url, token: hub.agentKey }));
  const [bridge, vadBus, sttBus] = clients as [BusClient, BusClient, BusClient];
  await Promise.all(clients.map((c) => c.connect()));
  const received: Received[] = [];
  const sub = bridge.subscribe(`promethean.p.discord.t.demo.duck.transcript.segment`, (env) => {
    const p = env.payload as PayloadOf<'duck.transcript.segment'>;
    if (p.session_id === session) received.push({ at: performance.now(), payload: p });
  });
  await sub.ready;
  const acks: Promise<void>[] = [];
  const vad = await startVad(trackSubscriptions(agentBusFrom(vadBus), acks), { logLevel: 'silent', demandPcm: false, model });
  const stt = await startStt(trackSubscriptions(agentBusFrom(sttBus), acks), sttFor, { logLevel: 'silent', demandPcm: false, policy, partials });
  await Promise.all(acks);
  try {
    // Wall time (ms) of session-clock frame 0; every frame is sent at its own time on this schedule.
    const wall0 = performance.now() + 300;
    const wallOf = (frame: number) => wall0 + frame * 20;
    const seq = new Map<string, number>();
    for (const [i, turn] of turns.entries()) {
      ctx.log(`captions: ${partials ? 'partials on' : 'partials off'}: turn ${i + 1}/${turns.length}, speaker ${i % SPEAKERS.length + 1}, ${turn.clip.id}`);
      for (const [k, pcm] of turn.clip.frames.entries()) {
        const frame = turn.startFrame + k;
        const wait = wallOf(frame) - performance.now();
        // Behind schedule: still yield, so the workers in this process keep up.
        await (wait > 1 ? sleep(wait) : new Promise<void>((r) => setImmediate(r)));
        const n = seq.get(turn.speaker) ?? 0;
        seq.set(turn.speaker, n + 1);
        const ts = ORIGIN_NS + BigInt(frame) * FRAME_NS;
        const env = makeEnvelope('voice.audio.pcm', { session_id: session, user_id: turn.speaker, ts_monotonic_ns: ts.toString(), format: BUS_PCM_FORMAT, rtp: { ssrc: 100 + SPEAKERS.indexOf(turn.speaker), seq: n & 0xffff, timestamp: (frame * FRAME) >>> 0 }, attachment: 0 }, route);
        bridge.publish(env, [new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength)]);
      }
    }
    // Settle: the speech of the last turn ended, and a final for every finished segment (at most 120 s).
    const end = performance.now() + 120_000;
    const finished = () => vad.runtime.counters.segments ?? 0;
    while (performance.now() < end) {
      const finals = received.filter((r) => r.payload.final).length;
      if (finals >= finished() && performance.now() > wallOf(turns.at(-1)!.startFrame + turns.at(-1)!.clip.frames.length) + 3000) break;
      await sleep(100);
    }
    await stt.worker.idle();
    const counters: Record<string, number> = {};
    for (const [name, v] of Object.entries({ ...vad.runtime.counters })) if (/^(segments|segments_open|frames_late|silence_padded|frames_dropped)$/.test(name)) counters[`vad.${name}`] = v;
    for (const [name, v] of Object.entries({ ...stt.runtime.counters })) if (/^(transcripts|partials|partials_skipped|partials_late|segments_dropped|stt_errors|partial_errors|segments_without_audio)$/.test(name)) counters[`stt.${name}`] = v;
    return measure(turns, received, wallOf, counters);
  } finally {
    await stt.stop();
    await vad.stop();
    for (const c of clients) c.close();
  }
}

function measure(turns: Turn[], received: Received[], wallOf: (frame: number) => number, counters: Record<string, number>): RunResult {
  const ns = (s: string) => BigInt(s) - ORIGIN_NS;
  const wallOfNs = (n: bigint) => wallOf(Number(n) / 20e6);
  const result: RunResult = { finals: [], partials: [], firstPartials: [], partialsPerTurn: [], engine: [], counters };
  for (const r of received) if (r.payload.final) result.engine.push({ latency: r.payload.latency_ms, rtf: r.payload.rtf ?? 0 });
  for (const [i, turn] of turns.entries()) {
    const from = BigInt(turn.startFrame) * FRAME_NS;
    const to = from + BigInt(turn.clip.frames.length) * FRAME_NS;
    // This turn's transcripts: its speaker's, starting within the turn.
    const mine = received.filter((r) => r.payload.speaker === turn.speaker && ns(r.payload.ts_start_ns) >= from - FRAME_NS && ns(r.payload.ts_start_ns) < to);
    const finals = mine.filter((r) => r.payload.final);
    const last = finals.reduce<Received | undefined>((a, r) => (!a || BigInt(r.payload.ts_end_ns) > BigInt(a.payload.ts_end_ns) ? r : a), undefined);
    const speechEndWall = wallOf(turn.startFrame) + turn.clip.speechEnd * 1000;
    result.finals[i] = last ? last.at - speechEndWall : undefined;
    const parts = mine.filter((r) => !r.payload.final);
    result.partialsPerTurn.push(parts.length);
    for (const p of parts) result.partials.push(p.at - wallOfNs(ns(p.payload.ts_end_ns)));
    if (parts.length > 0) result.firstPartials.push(Math.min(...parts.map((p) => p.at)) - (wallOf(turn.startFrame) + turn.clip.speechStart * 1000));
  }
  return result;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

function stats(xs: number[]): { p50: number; p95: number } {
  const s = Float64Array.from(xs).sort();
  return { p50: round1(percentile(s, 0.5)), p95: round1(percentile(s, 0.95)) };
}

/**
 * The caption-latency rows of `promethean bench stt`. `threads`: the speech server's threads per
 * engine (1, as `promethean start` runs it; more to see what a config change would buy).
 */
export async function captionLatency(ctx: BenchContext, threads = 1): Promise<BenchRow[]> {
  const clips = loadClips(ctx);
  // Rounds of four turns, partials on then off in each, so both see the same share of the machine's load.
  const rounds = ctx.quick ? 1 : 3;
  const perRound = SPEAKERS.length;
  const speechYml = readFileSync(join(ROOT, 'speech.yml'), 'utf8');
  const speechConfig = parseSpeechConfig(speechYml);
  const sttModel = speechConfig.defaults.stt.model;
  ctx.log(`captions: starting the local speech server (${threads} thread(s) per engine; promethean start runs 1)`);
  const server: LocalSpeechServer = await startLocalSpeechServer({ projectRoot: ROOT, threads, log: () => undefined, readyTimeoutMs: 180_000 });
  const hub = await startTempHub({ writeRuntimeFile: false });
  const model = await SileroModel.load();
  try {
    const sttFor = sttFromConfig(speechConfig, server.url);
    // Load the model before measuring.
    const warm = decodeWav(new Uint8Array(readFileSync(join(ROOT, 'test/fixtures/audio/jfk_16k.wav'))));
    await sttFor({ tenant: 'discord/demo' }).transcribe({ pcm: Int16Array.from(warm.mono, (v) => Math.round(v * 32767)), sampleRate: warm.sampleRate });
    const policy = new TranscriptionPolicy(parseTranscriptionConfig(speechYml));
    const on: RunResult[] = [];
    const off: RunResult[] = [];
    for (let r = 0; r < rounds; r++) {
      // Each round speaks the next four clips of the corpus.
      const placed = schedule(Array.from({ length: perRound }, (_, i) => clips[(r * perRound + i) % clips.length]!), perRound);
      on.push(await runOnce(ctx, hub, sttFor, policy, model, placed, `bench-captions-on-${r}`, true));
      off.push(await runOnce(ctx, hub, sttFor, policy, model, placed, `bench-captions-off-${r}`, false));
    }
    return rowsOf(ctx, merge(on), merge(off), rounds * perRound, sttModel, threads);
  } finally {
    await model.close();
    await hub.dispose();
    await server.close();
  }
}

function merge(runs: RunResult[]): RunResult {
  const counters: Record<string, number> = {};
  for (const r of runs) for (const [k, v] of Object.entries(r.counters)) counters[k] = (counters[k] ?? 0) + v;
  return {
    finals: runs.flatMap((r) => r.finals),
    partials: runs.flatMap((r) => r.partials),
    firstPartials: runs.flatMap((r) => r.firstPartials),
    partialsPerTurn: runs.flatMap((r) => r.partialsPerTurn),
    engine: runs.flatMap((r) => r.engine),
    counters,
  };
}

function rowsOf(ctx: BenchContext, on: RunResult, off: RunResult, turnCount: number, sttModel: string, threads: number): BenchRow[] {
  for (const [name, r] of [['partials on', on], ['partials off', off]] as const) {
    ctx.log(`captions: ${name}: finals ${r.finals.map((f) => (f === undefined ? 'missing' : f.toFixed(0))).join(' ')} ms; partials per turn ${r.partialsPerTurn.join(' ')}; ${JSON.stringify(r.counters)}`);
    ctx.log(`captions: ${name}: the STT worker's latency_ms / rtf per final: ${r.engine.map((e) => `${e.latency.toFixed(0)}/${e.rtf.toFixed(2)}`).join(' ')}`);
  }
  const got = (r: RunResult) => r.finals.filter((f): f is number => f !== undefined);
  const missing = (r: RunResult) => r.finals.length - got(r).length;
  if (got(on).length === 0 || got(off).length === 0) throw new Error(`captions: no final caption arrived (partials on: ${missing(on)} of ${turnCount} missing, off: ${missing(off)})`);
  const fOn = stats(got(on));
  const fOff = stats(got(off));
  const label = `${turnCount} turns, 4 speakers in turn, ${sttModel} (speech.yml default), ${threads} thread${threads === 1 ? '' : 's'}`;
  const rows: BenchRow[] = [
    { suite: 'stt', name: `caption final: end of speech → final caption, partials on, ${label}${missing(on) ? `, ${missing(on)} missing` : ''}`, unit: 'ms', value: fOn.p95, p50: fOn.p50, p95: fOn.p95, baseline: { name: 'partials off, p95', value: fOff.p95 } },
    { suite: 'stt', name: `caption final: end of speech → final caption, partials off, ${label}${missing(off) ? `, ${missing(off)} missing` : ''}`, unit: 'ms', value: fOff.p95, p50: fOff.p50, p95: fOff.p95 },
  ];
  if (on.partials.length > 0) {
    const p = stats(on.partials);
    const first = stats(on.firstPartials);
    rows.push(
      { suite: 'stt', name: `caption partial: audio sent → partial caption showing it, ${label}`, unit: 'ms', value: p.p95, p50: p.p50, p95: p.p95 },
      { suite: 'stt', name: `caption partial: start of speech → first partial caption, ${label}`, unit: 'ms', value: first.p95, p50: first.p50, p95: first.p95 },
    );
  }
  // 0 when the engine never had time for one (finals come first).
  rows.push({ suite: 'stt', name: `caption partials per turn (median), ${label}`, unit: 'partials', value: percentile(Float64Array.from(on.partialsPerTurn).sort(), 0.5) });
  return rows;
}
