/**
 * Silero VAD v5 on onnxruntime-node with the shared post-processing and default settings, on labelled
 * speech: the JFK phrases at known offsets in noise at 10 dB SNR, with a tone, a noise burst and a
 * click in the gaps (see labelled-speech.test-helpers.ts). Issue 10's accuracy bar.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resample } from '@promethean/shared';
import { buildLabelledSpeech, scoreVad, type LabelledSpeech, type Span } from './labelled-speech.test-helpers.ts';
import { SileroModel, SileroVad, sileroManifestEntry } from './silero.ts';

let model: SileroModel;
beforeAll(async () => {
  model = await SileroModel.load();
});
afterAll(async () => {
  await model?.close();
});

async function segmentsOf(vad: SileroVad, signal16k: Float32Array, chunk: number): Promise<{ spans: Span[]; ids: number[]; probs: number[] }> {
  const spans: Span[] = [];
  const ids: number[] = [];
  const probs: number[] = [];
  const take = (events: Awaited<ReturnType<SileroVad['processInput']>>['events']) => {
    for (const e of events) {
      if (e.type !== 'end') continue;
      spans.push({ start: e.segment.startSample / 16000, end: e.segment.endSample / 16000 });
      ids.push(e.segment.index);
    }
  };
  for (let at = 0; at < signal16k.length; at += chunk) {
    const out = await vad.processInput(signal16k.subarray(at, at + chunk));
    probs.push(...out.probs);
    take(out.events);
  }
  take(vad.flush());
  return { spans, ids, probs };
}

describe('SileroVad with default settings on labelled speech at 10 dB SNR', () => {
  let labelled: LabelledSpeech;
  let result: Awaited<ReturnType<typeof segmentsOf>>;
  beforeAll(async () => {
    labelled = buildLabelledSpeech(10);
    result = await segmentsOf(new SileroVad(model), labelled.signal, 320);
  });

  it('loads the model named in the manifest, checking its sha256', async () => {
    const entry = await sileroManifestEntry();
    expect(model.sha256).toBe(entry.sha256);
  });

  it('has four phrases and three distractors to score', () => {
    expect(labelled.speech).toHaveLength(4);
    expect(labelled.distractors.map((d) => d.kind)).toEqual(['tone', 'noise burst', 'click']);
  });

  it('reaches frame-level F1 ≥ 0.95 on 10 ms frames (0.1 s before onsets, 0.3 s after offsets ignored)', () => {
    const score = scoreVad(labelled.speech, labelled.distractors, result.spans, labelled.signal.length / 16000);
    expect(score.f1).toBeGreaterThanOrEqual(0.95);
  });

  it('puts no segment frame on the tone, the noise burst or the click', () => {
    const score = scoreVad(labelled.speech, labelled.distractors, result.spans, labelled.signal.length / 16000);
    expect(score.distractorFrames).toBe(0);
  });

  it('starts speech within 64 ms of each onset and ends it within 300 ms of each offset', () => {
    const score = scoreVad(labelled.speech, labelled.distractors, result.spans, labelled.signal.length / 16000);
    for (const e of score.startErrors) expect(e).toBeLessThanOrEqual(0.064);
    for (const e of score.endErrors) expect(e).toBeLessThanOrEqual(0.3);
  });

  it('numbers segments 0, 1, 2 … without gaps', () => {
    expect(result.ids).toEqual(result.ids.map((_, i) => i));
  });

  it('gives the same probabilities whatever the chunk size', async () => {
    const other = await segmentsOf(new SileroVad(model), labelled.signal, 4096);
    expect(other.probs.length).toBe(result.probs.length);
    for (let i = 0; i < other.probs.length; i++) expect(Math.abs(other.probs[i]! - result.probs[i]!)).toBeLessThan(1e-6);
  });

  it('meets the same bar on the signal taken to 48 kHz and back (the server worker’s path)', async () => {
    const back = resample(resample(labelled.signal, 16000, 48000), 48000, 16000);
    const r = await segmentsOf(new SileroVad(model), back, 320);
    const score = scoreVad(labelled.speech, labelled.distractors, r.spans, labelled.signal.length / 16000);
    expect(score.f1).toBeGreaterThanOrEqual(0.95);
    expect(score.distractorFrames).toBe(0);
  });
});
