/**
 * `promethean bench stt tts llm`: the local speech server's engines on ONE core (the server is pinned
 * with taskset to CPU 0 and runs every engine with one thread), through the OpenAI-compatible API.
 *
 * - `stt`: real-time factor (processing time ÷ audio duration; lower is faster) of each Whisper model
 *   on faster-whisper (CTranslate2 int8) for real read speech (JFK, 11 s; a LibriVox clip, 7 s).
 *   Median of the repetitions after one warm-up. OpenVINO has no row: no Whisper model in a form
 *   OpenVINO loads ships in a package here (docs/speech.md). Then caption latency through the real
 *   VAD and STT workers with four speakers talking in turn (captions.ts), on a server started as
 *   `promethean start` starts it (not pinned).
 * - `tts`: time to first audio (request → first byte of the WAV; the server synthesises a whole
 *   reply before sending) and real-time factor, for Piper on onnxruntime vs Piper on OpenVINO (each
 *   the other's baseline) and espeak-ng.
 * - `llm`: completion tokens per second (64 tokens at temperature 0) of Gemma 3 270M Q4_K_M on
 *   llama.cpp.
 * Model loading is excluded (a warm-up request loads each model first).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchContext, BenchRow, BenchSuite } from './types.ts';
import { captionLatency } from './captions.ts';
import { startLocalSpeechServer, type LocalSpeechServer } from '../../server/src/speech/local-server.ts';
import { OpenAiEndpoint, OpenAiLlm, OpenAiStt, OpenAiTts } from '../../server/src/speech/openai-driver.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const JFK = fileURLToPath(new URL('../fixtures/audio/jfk_16k.wav', import.meta.url));
const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav';
const REPLY = 'Sure. The next match starts in five minutes, so grab a drink and join the lobby when you are ready.';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function withServer<T>(ctx: BenchContext, fn: (endpoint: OpenAiEndpoint) => Promise<T>): Promise<T> {
  ctx.log('speech: starting the local speech server on CPU 0 (one thread per engine)');
  const server: LocalSpeechServer = await startLocalSpeechServer({ projectRoot: ROOT, threads: 1, cpus: '0', log: () => undefined, readyTimeoutMs: 180_000 });
  try {
    return await fn(new OpenAiEndpoint({ name: 'local', baseUrl: server.url, timeoutMs: 600_000 }));
  } finally {
    await server.close();
  }
}

async function stt(ctx: BenchContext): Promise<BenchRow[]> {
  const reps = ctx.quick ? 1 : 3;
  const clips = [{ name: 'jfk-11s', file: JFK }, ...(existsSync(LIBRIVOX) ? [{ name: 'librivox-7s', file: LIBRIVOX }] : [])];
  const rtfRows = await withServer(ctx, async (endpoint) => {
    const rows: BenchRow[] = [];
    for (const clip of clips) {
      const bytes = new Uint8Array(readFileSync(clip.file));
      const rtf: Record<string, number> = {};
      for (const model of ['whisper-tiny.en', 'whisper-base']) {
        const engine = new OpenAiStt(endpoint, { model });
        await engine.transcribe({ file: { bytes, name: 'a.wav' }, language: 'en' }); // load + warm up
        const runs: number[] = [];
        for (let i = 0; i < reps; i++) runs.push((await engine.transcribe({ file: { bytes, name: 'a.wav' }, language: 'en' })).rtf);
        rtf[model] = median(runs);
        ctx.log(`stt: ${model} ${clip.name} rtf ${rtf[model]!.toFixed(3)}`);
      }
      rows.push({ suite: 'stt', name: `rtf ${clip.name} whisper-tiny.en faster-whisper/ct2-int8 1 core`, unit: '× real time', value: rtf['whisper-tiny.en']!, baseline: { name: 'whisper-base', value: rtf['whisper-base']! } });
      rows.push({ suite: 'stt', name: `rtf ${clip.name} whisper-base faster-whisper/ct2-int8 1 core`, unit: '× real time', value: rtf['whisper-base']! });
    }
    return rows;
  });
  return [...rtfRows, ...(await captionLatency(ctx))];
}

async function tts(ctx: BenchContext): Promise<BenchRow[]> {
  const reps = ctx.quick ? 1 : 3;
  return withServer(ctx, async (endpoint) => {
    const first: Record<string, number> = {};
    const rtf: Record<string, number> = {};
    for (const model of ['piper-en_US-joe-medium', 'piper-en_US-joe-medium:openvino', 'espeak-ng']) {
      const engine = new OpenAiTts(endpoint, { model });
      await engine.synthesize({ text: 'Warming up.' });
      const f: number[] = [];
      const r: number[] = [];
      for (let i = 0; i < reps; i++) {
        const t0 = performance.now();
        const a = await engine.synthesize({ text: REPLY });
        const total = performance.now() - t0;
        f.push(a.firstAudioMs);
        r.push(total / 1000 / (a.pcm.length / a.sampleRate));
      }
      first[model] = median(f);
      rtf[model] = median(r);
      ctx.log(`tts: ${model} first audio ${first[model]!.toFixed(0)} ms, rtf ${rtf[model]!.toFixed(3)}`);
    }
    const ort = 'piper-en_US-joe-medium';
    const ov = 'piper-en_US-joe-medium:openvino';
    return [
      { suite: 'tts', name: 'first-audio piper joe-medium onnxruntime 1 core', unit: 'ms', value: first[ort]!, baseline: { name: 'openvino', value: first[ov]! } },
      { suite: 'tts', name: 'first-audio piper joe-medium openvino 1 core', unit: 'ms', value: first[ov]!, baseline: { name: 'onnxruntime', value: first[ort]! } },
      { suite: 'tts', name: 'first-audio espeak-ng', unit: 'ms', value: first['espeak-ng']! },
      { suite: 'tts', name: 'rtf piper joe-medium onnxruntime 1 core', unit: '× real time', value: rtf[ort]!, baseline: { name: 'openvino', value: rtf[ov]! } },
      { suite: 'tts', name: 'rtf piper joe-medium openvino 1 core', unit: '× real time', value: rtf[ov]!, baseline: { name: 'onnxruntime', value: rtf[ort]! } },
      { suite: 'tts', name: 'rtf espeak-ng', unit: '× real time', value: rtf['espeak-ng']! },
    ];
  });
}

async function llm(ctx: BenchContext): Promise<BenchRow[]> {
  const reps = ctx.quick ? 1 : 3;
  return withServer(ctx, async (endpoint) => {
    const engine = new OpenAiLlm(endpoint, { model: 'gemma-3-270m-q4_k_m' });
    const messages = [{ role: 'user' as const, content: 'Write a short story about a duck who moderates a voice chat.' }];
    await engine.complete({ messages, temperature: 0, maxTokens: 8 });
    const tps: number[] = [];
    for (let i = 0; i < reps; i++) {
      const c = await engine.complete({ messages, temperature: 0, maxTokens: 64 });
      tps.push(c.tokensPerSecond);
      ctx.log(`llm: ${c.completionTokens} tokens at ${c.tokensPerSecond.toFixed(1)} tok/s`);
    }
    return [{ suite: 'llm', name: 'tokens/s gemma-3-270m q4_k_m llama.cpp (cyllama) 64 tokens', unit: 'tok/s', value: median(tps) }];
  });
}

const SUITES: Record<string, BenchSuite> = {
  stt: { name: 'stt', description: 'Whisper real-time factor per model and backend on one core; caption latency (final and partial) through the VAD and STT workers', run: stt },
  tts: { name: 'tts', description: 'TTS time to first audio and real-time factor, Piper on onnxruntime vs OpenVINO, espeak-ng', run: tts },
  llm: { name: 'llm', description: 'LLM tokens per second (Gemma 3 270M on llama.cpp)', run: llm },
};

const which = new URL(import.meta.url).searchParams.get('suite') ?? 'stt';
const suite = SUITES[which];
if (!suite) throw new Error(`test/bench/speech.ts: unknown ?suite=${which} (stt, tts, llm)`);
export default suite;
