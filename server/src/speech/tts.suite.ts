/** The conformance suite every `Tts` driver runs; an `Stt` checks that the speech is intelligible. */
import { describe, expect, it } from 'vitest';
import type { Stt, Tts } from './types.ts';
import { wordErrorRate } from './wer.ts';

export interface TtsSuiteOptions {
  create(): Promise<Tts> | Tts;
  /** Transcribes the synthesised speech back (round trip). */
  stt(): Promise<Stt> | Stt;
  /** Largest round-trip WER accepted. */
  maxRoundTripWer?: number;
}

const SENTENCE = 'The moderators can hear every speaker in the channel.';

function rms(pcm: Int16Array): number {
  let s = 0;
  for (const v of pcm) s += v * v;
  return Math.sqrt(s / Math.max(1, pcm.length)) / 32768;
}

export function runTtsSuite(name: string, options: TtsSuiteOptions): void {
  describe(`Tts conformance: ${name}`, () => {
    it('synthesize() gives audible mono PCM with its rate, first-audio time and models', async () => {
      const tts = await options.create();
      const a = await tts.synthesize({ text: SENTENCE });
      expect(a.sampleRate).toBeGreaterThanOrEqual(8000);
      expect(a.sampleRate).toBeLessThanOrEqual(48000);
      const seconds = a.pcm.length / a.sampleRate;
      expect(seconds).toBeGreaterThan(1.5);
      expect(seconds).toBeLessThan(10);
      expect(rms(a.pcm)).toBeGreaterThan(0.01);
      expect(a.firstAudioMs).toBeGreaterThan(0);
      expect(a.models[0]!.engine).not.toBe('');
      expect(a.models[0]!.model).not.toBe('');
    });

    it('the speech transcribes back to the text (round trip through an Stt)', async () => {
      const tts = await options.create();
      const stt = await options.stt();
      const a = await tts.synthesize({ text: SENTENCE });
      const t = await stt.transcribe({ pcm: a.pcm, sampleRate: a.sampleRate });
      expect(wordErrorRate([{ reference: SENTENCE, hypothesis: t.text }]).wer).toBeLessThanOrEqual(options.maxRoundTripWer ?? 0.25);
    });

    it('speed 2 speaks faster than speed 1', async () => {
      const tts = await options.create();
      const normal = await tts.synthesize({ text: SENTENCE, speed: 1 });
      const fast = await tts.synthesize({ text: SENTENCE, speed: 2 });
      expect(fast.pcm.length / fast.sampleRate).toBeLessThan((0.8 * normal.pcm.length) / normal.sampleRate);
    });

    it('synthesize() rejects empty text with a 400', async () => {
      const tts = await options.create();
      await expect(tts.synthesize({ text: '   ' })).rejects.toMatchObject({ status: 400 });
    });
  });
}
