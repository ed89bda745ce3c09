/**
 * `promethean dsp mel|logmel|vad <in.wav> --out <f.json>`: offline analysis of a recording with the
 * shared DSP kernels (docs/dsp.md). Reads WAV PCM s16/s24/s32/f32 (plain or WAVE_FORMAT_EXTENSIBLE),
 * any rate, channels averaged; a bad file is one WavError. Long files report progress on stderr.
 */
import { createWriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { once } from 'node:events';
import {
  decodeWav,
  melRows,
  melSpectrogram,
  PrometheanError,
  resample,
  SILERO_SAMPLE_RATE,
  WHISPER_SAMPLE_RATE,
  whisperLogMel,
  type MelSpectrogram,
  type MelSpectrogramOptions,
  type WavAudio,
} from '@promethean/shared';
import { numberFlag, parseFlags, type Command } from '../args.ts';
import type { SileroVad } from '../../dsp/silero.ts';

/** Largest input read (the whole file is decoded in memory). */
const MAX_INPUT_BYTES = 2 ** 31 - 1;
/** Files longer than this many seconds report progress. */
const PROGRESS_AFTER_S = 60;

const USAGE = `Usage: promethean dsp mel|logmel|vad <in.wav> --out <f.json> [options]

  promethean dsp mel <in.wav> --out <f.json> [--n-fft N] [--hop N] [--win N] [--n-mels N]
        [--fmin Hz] [--fmax Hz] [--power P] [--norm slaney|none] [--htk] [--pad constant|reflect] [--no-center]
  promethean dsp logmel <in.wav> --preset whisper --out <f.json>
  promethean dsp vad <in.wav> --out <f.json>

mel     librosa 0.11 feature.melspectrogram semantics and defaults at the file's own rate (n_fft 2048,
        hop n_fft/4 of the window, window n_fft, 128 Slaney mels 0 Hz to Nyquist, power 2, centred
        frames padded with zeros); writes { sample_rate, n_mels, n_frames, data } with n_mels rows of
        n_frames linear values.
logmel  OpenAI Whisper's log_mel_spectrogram without padding (80 mels, n_fft 400, hop 160, last frame
        dropped, log10 floored at max - 8, (x + 4) / 4); input resampled to 16 kHz; same shape.
vad     Silero VAD v5 (onnxruntime-node) with the default post-processing; input resampled to 16 kHz;
        writes { frame_ms, probs, segments: [{ start, end }] } (seconds).

Input: WAV PCM s16, s24, s32 or float32 (WAVE_FORMAT_EXTENSIBLE too), any rate, mono or stereo.

Options:
  --out <f.json>  where to write the JSON (required)
  -h, --help      this text`;

function progress(label: string, seconds: number): ((done: number, total: number) => void) | undefined {
  if (seconds < PROGRESS_AFTER_S) return undefined;
  let last = -5;
  return (done, total) => {
    const pct = Math.floor((100 * done) / Math.max(1, total));
    if (pct < last + 5 && !(pct === 100 && last !== 100)) return;
    last = pct;
    process.stderr.write(`dsp ${label}: ${pct}%${pct === 100 ? '\n' : '\r'}`);
  };
}

async function readWav(path: string): Promise<WavAudio> {
  const st = await stat(path).catch((cause: unknown) => {
    throw new PrometheanError('not_found', `${path}: ${(cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (cause as Error).message}`, { cause });
  });
  if (!st.isFile()) throw new PrometheanError('unsupported', `${path}: not a file`);
  if (st.size > MAX_INPUT_BYTES) throw new PrometheanError('oversize', `${path}: larger than ${MAX_INPUT_BYTES} bytes`);
  return decodeWav(new Uint8Array(await readFile(path)), path);
}

/** Writes the CLI's spectrogram JSON row by row (a long file's rows do not fit one string). */
async function writeSpectrogram(path: string, spec: MelSpectrogram): Promise<void> {
  const out = createWriteStream(path);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  await write(`{"sample_rate":${spec.sampleRate},"n_mels":${spec.nMels},"n_frames":${spec.nFrames},"data":[`);
  const rows = melRows(spec);
  for (let m = 0; m < rows.length; m++) await write(`${m === 0 ? '' : ','}\n[${rows[m]!.join(',')}]`);
  await write(']}\n');
  out.end();
  await once(out, 'finish');
}

async function writeJson(path: string, value: unknown): Promise<void> {
  const out = createWriteStream(path);
  out.end(`${JSON.stringify(value)}\n`);
  await once(out, 'finish');
}

function to16k(wav: WavAudio, rate: number): Float32Array {
  return wav.sampleRate === rate ? wav.mono : resample(wav.mono, wav.sampleRate, rate);
}

function requireInput(positionals: string[], sub: string): string {
  if (positionals.length !== 1) throw new PrometheanError('bad_flag', `dsp ${sub} takes one input WAV file, got ${positionals.length}`);
  return positionals[0]!;
}

function requireOut(out: string | undefined): string {
  if (!out) throw new PrometheanError('bad_flag', '--out <f.json> is required');
  return out;
}

async function mel(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    {
      out: { type: 'string' },
      'n-fft': { type: 'string' },
      hop: { type: 'string' },
      win: { type: 'string' },
      'n-mels': { type: 'string' },
      fmin: { type: 'string' },
      fmax: { type: 'string' },
      power: { type: 'string' },
      norm: { type: 'string' },
      htk: { type: 'boolean' },
      pad: { type: 'string' },
      'no-center': { type: 'boolean' },
    },
    true,
  );
  const input = requireInput(positionals, 'mel');
  const out = requireOut(values.out);
  const int = (name: string, v: string | undefined, min: number, max: number) => {
    const n = numberFlag(name, v, min, max);
    if (n !== undefined && !Number.isInteger(n)) throw new PrometheanError('bad_flag', `--${name} must be an integer, got "${v}"`);
    return n;
  };
  if (values.norm !== undefined && values.norm !== 'slaney' && values.norm !== 'none') throw new PrometheanError('bad_flag', `--norm must be slaney or none, got "${values.norm}"`);
  if (values.pad !== undefined && values.pad !== 'constant' && values.pad !== 'reflect') throw new PrometheanError('bad_flag', `--pad must be constant or reflect, got "${values.pad}"`);
  const nFft = int('n-fft', values['n-fft'], 2, 1 << 20);
  const options: Partial<MelSpectrogramOptions> = {
    ...(nFft !== undefined ? { nFft } : {}),
    hopLength: int('hop', values.hop, 1, 1 << 24) ?? null,
    winLength: int('win', values.win, 1, 1 << 20) ?? null,
    ...(values['n-mels'] !== undefined ? { nMels: int('n-mels', values['n-mels'], 1, 4096)! } : {}),
    ...(values.fmin !== undefined ? { fmin: numberFlag('fmin', values.fmin, 0, 1e6)! } : {}),
    fmax: numberFlag('fmax', values.fmax, 0, 1e6) ?? null,
    ...(values.power !== undefined ? { power: numberFlag('power', values.power, 1e-6, 16)! } : {}),
    ...(values.norm !== undefined ? { norm: values.norm as 'slaney' | 'none' } : {}),
    ...(values.htk ? { htk: true } : {}),
    ...(values.pad !== undefined ? { padMode: values.pad as 'constant' | 'reflect' } : {}),
    ...(values['no-center'] ? { center: false } : {}),
  };
  const wav = await readWav(input);
  const seconds = wav.frames / wav.sampleRate;
  const spec = melSpectrogram(wav.mono, { ...options, sampleRate: wav.sampleRate }, progress('mel', seconds));
  await writeSpectrogram(out, spec);
  console.error(`dsp mel: ${spec.nMels} mels × ${spec.nFrames} frames of ${seconds.toFixed(2)} s at ${wav.sampleRate} Hz → ${out}`);
  return 0;
}

async function logmel(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, { out: { type: 'string' }, preset: { type: 'string' } }, true);
  const input = requireInput(positionals, 'logmel');
  const out = requireOut(values.out);
  if ((values.preset ?? 'whisper') !== 'whisper') throw new PrometheanError('bad_flag', `--preset must be whisper, got "${values.preset}"`);
  const wav = await readWav(input);
  const seconds = wav.frames / wav.sampleRate;
  const spec = whisperLogMel(to16k(wav, WHISPER_SAMPLE_RATE), 80, progress('logmel', seconds));
  await writeSpectrogram(out, spec);
  console.error(`dsp logmel: 80 mels × ${spec.nFrames} frames of ${seconds.toFixed(2)} s → ${out}`);
  return 0;
}

async function vad(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, { out: { type: 'string' } }, true);
  const input = requireInput(positionals, 'vad');
  const out = requireOut(values.out);
  const wav = await readWav(input);
  const seconds = wav.frames / wav.sampleRate;
  const pcm = to16k(wav, SILERO_SAMPLE_RATE);
  // Loaded here, not at the top: onnxruntime's native module is for this subcommand only.
  const { SILERO_FRAME_MS, SileroModel, SileroVad } = await import('../../dsp/silero.ts');
  const model = await SileroModel.load();
  try {
    const detector = new SileroVad(model);
    const probs: number[] = [];
    const segments: Array<{ start: number; end: number }> = [];
    const report = progress('vad', seconds);
    const chunk = SILERO_SAMPLE_RATE; // one second
    const take = (events: Awaited<ReturnType<SileroVad['processInput']>>['events']) => {
      for (const e of events) if (e.type === 'end') segments.push({ start: e.segment.startSample / SILERO_SAMPLE_RATE, end: e.segment.endSample / SILERO_SAMPLE_RATE });
    };
    for (let at = 0; at < pcm.length; at += chunk) {
      const r = await detector.processInput(pcm.subarray(at, at + chunk));
      probs.push(...r.probs);
      take(r.events);
      report?.(Math.min(pcm.length, at + chunk), pcm.length);
    }
    take(detector.flush());
    await writeJson(out, { frame_ms: SILERO_FRAME_MS, probs: probs.map((p) => Math.round(p * 1e4) / 1e4), segments });
    console.error(`dsp vad: ${segments.length} speech segments in ${seconds.toFixed(2)} s → ${out}`);
  } finally {
    await model.close();
  }
  return 0;
}

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = { mel, logmel, vad };

export const dspCommand: Command = {
  name: 'dsp',
  summary: 'offline analysis of a WAV file: mel spectrogram, Whisper log-mel, voice activity',
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    const fn = sub === undefined ? undefined : SUBCOMMANDS[sub];
    if (!fn) throw new PrometheanError('bad_flag', sub === undefined ? 'a subcommand is required: mel, logmel or vad' : `unknown subcommand "${sub}" (mel, logmel, vad)`);
    return fn(rest);
  },
};
