/**
 * The conformance suite every `Stt` driver runs (test/e2e/speech-engines.test.ts runs it against the
 * local speech server's models). `create` returns the engine under test.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeWav } from '@promethean/shared';
import type { Stt } from './types.ts';
import { wordErrorRate } from './wer.ts';

export const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));
/** JFK, 11.0 s at 16 kHz (test/fixtures/audio/ATTRIBUTION.md); the inaugural address's words. */
export const JFK = { file: join(FIXTURES, 'audio', 'jfk_16k.wav'), text: 'And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.', seconds: 11.0 };

export function readPcm(file: string): { pcm: Int16Array; sampleRate: number } {
  const wav = decodeWav(new Uint8Array(readFileSync(file)), file);
  const pcm = new Int16Array(wav.mono.length);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.max(-32768, Math.min(32767, Math.round(wav.mono[i]! * 32768)));
  return { pcm, sampleRate: wav.sampleRate };
}

export interface SttSuiteOptions {
  create(): Promise<Stt> | Stt;
  /** Largest WER accepted on the JFK sample. */
  maxJfkWer?: number;
}

export function runSttSuite(name: string, options: SttSuiteOptions): void {
  describe(`Stt conformance: ${name}`, () => {
    it('transcribe() of a WAV file gives the words, the language, the duration and the models', async () => {
      const stt = await options.create();
      const bytes = new Uint8Array(readFileSync(JFK.file));
      const t = await stt.transcribe({ file: { bytes, name: 'jfk.wav' }, words: true });
      expect(wordErrorRate([{ reference: JFK.text, hypothesis: t.text }]).wer).toBeLessThanOrEqual(options.maxJfkWer ?? 0.1);
      expect(t.language).toBe('en');
      expect(t.duration).toBeCloseTo(JFK.seconds, 1);
      expect(t.models.length).toBeGreaterThan(0);
      for (const m of t.models) {
        expect(m.engine).not.toBe('');
        expect(m.model).not.toBe('');
      }
      expect(t.rtf).toBeGreaterThan(0);
    });

    it('words come with times inside the audio, in order', async () => {
      const stt = await options.create();
      const { pcm, sampleRate } = readPcm(JFK.file);
      const t = await stt.transcribe({ pcm, sampleRate, words: true });
      expect(t.words.length).toBeGreaterThanOrEqual(20);
      let last = 0;
      for (const w of t.words) {
        expect(w.start).toBeGreaterThanOrEqual(last - 0.01);
        expect(w.end).toBeGreaterThanOrEqual(w.start);
        expect(w.end).toBeLessThanOrEqual(JFK.seconds + 0.05);
        last = w.start;
      }
      // "country" is said last, after 9 s of the 11
      expect(t.words.at(-1)!.word.toLowerCase()).toContain('country');
      expect(t.words.at(-1)!.start).toBeGreaterThan(9);
      expect(t.segments.length).toBeGreaterThan(0);
    });

    it('PCM at another sample rate is resampled by the engine, not misread', async () => {
      const stt = await options.create();
      const { pcm } = readPcm(JFK.file);
      // 16 kHz → 8 kHz by keeping every other sample of a 2-tap average (telephone-band audio)
      const half = new Int16Array(Math.floor(pcm.length / 2));
      for (let i = 0; i < half.length; i++) half[i] = (pcm[2 * i]! + pcm[2 * i + 1]!) >> 1;
      const t = await stt.transcribe({ pcm: half, sampleRate: 8000 });
      expect(t.duration).toBeCloseTo(JFK.seconds, 1);
      expect(wordErrorRate([{ reference: JFK.text, hypothesis: t.text }]).wer).toBeLessThanOrEqual(0.25);
    });

    it('transcribe() rejects a file that is not audio, and the engine keeps working', async () => {
      const stt = await options.create();
      await expect(stt.transcribe({ file: { bytes: new TextEncoder().encode('this is not audio'), name: 'x.wav' } })).rejects.toMatchObject({ status: 400 });
      await expect(stt.transcribe({ file: { bytes: new Uint8Array(0), name: 'empty.wav' } })).rejects.toMatchObject({ status: 400 });
      const t = await stt.transcribe({ file: { bytes: new Uint8Array(readFileSync(JFK.file)), name: 'jfk.wav' } });
      expect(t.text.toLowerCase()).toContain('country');
    });
  });
}
