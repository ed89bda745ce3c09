/**
 * Labelled speech for VAD accuracy checks (test support): real speech (the JFK clip of the
 * test fixtures) cut into phrases, placed at known offsets in Gaussian noise at a chosen SNR, with a
 * tone, a noise burst and a click as distractors in the gaps. The ground truth is the placement of
 * each phrase, whose bounds are found on the clean clip by an energy rule documented below.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeWav, rms } from '@promethean/shared';

export const JFK_WAV = fileURLToPath(new URL('../../../test/fixtures/audio/jfk_16k.wav', import.meta.url));

/** Where the JFK recording's speech ends (crowd noise follows). */
export const JFK_SPEECH_SECONDS = 10.6;

export interface Span {
  start: number;
  end: number;
}

export interface LabelledSpeech {
  sampleRate: number;
  signal: Float32Array;
  /** Speech, in seconds. */
  speech: Span[];
  /** Distractors (tone, noise burst, click), in seconds. */
  distractors: Array<Span & { kind: string }>;
}

/**
 * Phrases of a clean recording: 10 ms frames above (peak − 30 dB); runs under 30 ms (clicks, breaths)
 * dropped, then gaps under 250 ms merged, then phrases under 150 ms dropped. In seconds.
 */
export function phrases(signal: Float32Array, sampleRate: number): Span[] {
  const hop = Math.round(sampleRate / 100);
  const n = Math.floor(signal.length / hop);
  const level = Array.from({ length: n }, (_, i) => rms(signal, i * hop, (i + 1) * hop));
  const floor = Math.max(...level) * 10 ** (-30 / 20);
  const runs: Span[] = [];
  for (let i = 0; i < n; i++) {
    if (level[i]! <= floor) continue;
    const last = runs.at(-1);
    if (last && last.end === i) last.end = i + 1;
    else runs.push({ start: i, end: i + 1 });
  }
  const merged: Span[] = [];
  for (const r of runs.filter((x) => x.end - x.start >= 3)) {
    const last = merged.at(-1);
    if (last && r.start - last.end < 25) last.end = r.end;
    else merged.push({ ...r });
  }
  return merged.filter((r) => r.end - r.start >= 15).map((r) => ({ start: r.start / 100, end: r.end / 100 }));
}

/** Deterministic standard normal samples (xorshift32 + Box–Muller). */
function gaussian(seed: number): () => number {
  let s = seed >>> 0 || 1;
  const uniform = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * The labelled signal at 16 kHz: 1 s of noise, then each phrase followed by a gap; the gaps hold a
 * 440 Hz tone, a noise burst and a click (each 1 s clear of speech). Noise is set so that speech power
 * over noise power is `snrDb`; the distractors are as loud as the speech.
 */
export function buildLabelledSpeech(snrDb = 10, seed = 7, toneHz = 440): LabelledSpeech {
  const clean = decodeWav(new Uint8Array(readFileSync(JFK_WAV)), 'jfk_16k.wav');
  const sr = clean.sampleRate;
  // The recording's last 0.4 s is the crowd's response after the last word, not speech: left out.
  const spans = phrases(clean.mono.subarray(0, Math.round(JFK_SPEECH_SECONDS * sr)), sr);
  const gap = 3.0;
  const lead = 1.0;
  const total = Math.ceil((lead + spans.reduce((a, p) => a + (p.end - p.start) + gap, 0)) * sr);
  const signal = new Float32Array(total);
  const speech: Span[] = [];
  let at = lead;
  let speechPower = 0;
  let speechSamples = 0;
  for (const p of spans) {
    const from = Math.round(p.start * sr);
    const to = Math.round(p.end * sr);
    const dst = Math.round(at * sr);
    for (let i = from; i < to; i++) {
      signal[dst + i - from] = clean.mono[i]!;
      speechPower += clean.mono[i]! ** 2;
    }
    speechSamples += to - from;
    speech.push({ start: dst / sr, end: (dst + to - from) / sr });
    at = (dst + to - from) / sr + gap;
  }
  const speechRms = Math.sqrt(speechPower / speechSamples);
  const noiseRms = speechRms / 10 ** (snrDb / 20);
  // Distractors in the middle of the first three gaps, as loud as the speech.
  const distractors: LabelledSpeech['distractors'] = [];
  const mid = (k: number) => (speech[k]!.end + speech[k + 1]!.start) / 2;
  const rnd = gaussian(seed + 1);
  const place = (kind: string, centre: number, seconds: number, sample: (i: number) => number) => {
    const first = Math.round((centre - seconds / 2) * sr);
    const n = Math.max(1, Math.round(seconds * sr));
    for (let i = 0; i < n; i++) signal[first + i] = signal[first + i]! + sample(i);
    distractors.push({ kind, start: first / sr, end: (first + n) / sr });
  };
  place('tone', mid(0), 0.8, (i) => speechRms * Math.SQRT2 * Math.sin((2 * Math.PI * toneHz * i) / sr));
  place('noise burst', mid(1), 0.5, () => speechRms * rnd());
  place('click', mid(2), 0.004, (i) => (i < 8 ? 0.9 : 0));
  const noise = gaussian(seed);
  for (let i = 0; i < total; i++) signal[i] = signal[i]! + noiseRms * noise();
  return { sampleRate: sr, signal, speech, distractors };
}

export interface VadScore {
  f1: number;
  precision: number;
  recall: number;
  /** Predicted speech frames on a distractor, outside the margins. */
  distractorFrames: number;
  /** |predicted start − true onset| and |predicted end − true offset| of the segment nearest each phrase, s. */
  startErrors: number[];
  endErrors: number[];
}

/**
 * Frame-level F1 on 10 ms frames, ignoring 0.1 s before each true onset and 0.3 s after each true
 * offset; plus onset/offset errors of the segment that overlaps each phrase most.
 */
export function scoreVad(truth: Span[], distractors: Span[], predicted: Span[], seconds: number): VadScore {
  const n = Math.ceil(seconds * 100);
  const frameIn = (spans: Span[], t: number) => spans.some((s) => t + 0.005 >= s.start && t + 0.005 < s.end);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let distractorFrames = 0;
  for (let k = 0; k < n; k++) {
    const t = k / 100;
    const ignored = truth.some((s) => (t + 0.005 >= s.start - 0.1 && t + 0.005 < s.start) || (t + 0.005 >= s.end && t + 0.005 < s.end + 0.3));
    if (ignored) continue;
    const want = frameIn(truth, t);
    const got = frameIn(predicted, t);
    if (want && got) tp++;
    else if (got) fp++;
    else if (want) fn++;
    if (got && frameIn(distractors, t)) distractorFrames++;
  }
  const startErrors: number[] = [];
  const endErrors: number[] = [];
  for (const s of truth) {
    const overlap = (p: Span) => Math.max(0, Math.min(p.end, s.end) - Math.max(p.start, s.start));
    const hits = predicted.filter((p) => overlap(p) > 0);
    if (hits.length === 0) {
      startErrors.push(Number.POSITIVE_INFINITY);
      endErrors.push(Number.POSITIVE_INFINITY);
      continue;
    }
    startErrors.push(Math.abs(hits[0]!.start - s.start));
    endErrors.push(Math.abs(hits.at(-1)!.end - s.end));
  }
  const precision = tp / Math.max(1, tp + fp);
  const recall = tp / Math.max(1, tp + fn);
  return { f1: (2 * tp) / Math.max(1, 2 * tp + fp + fn), precision, recall, distractorFrames, startErrors, endErrors };
}
