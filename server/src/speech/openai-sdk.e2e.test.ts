/**
 * Compatibility with a client this project did not write: the official `openai` SDK against the
 * local speech server (`promethean speech serve`). Models, transcription of the JFK sample, speech
 * as WAV and as OpenAI's pcm, a chat completion, and OpenAI-shaped errors that the SDK turns into
 * its own typed errors.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI, { BadRequestError, NotFoundError, toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWav } from '@promethean/shared';
import { ROOT, speechInstalled, startSpeech } from '../../../test/e2e/speech-support.ts';
import type { LocalSpeechServer } from './local-server.ts';

const installed = speechInstalled();

function rms(samples: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
  return Math.sqrt(sum / Math.max(1, samples.length));
}

describe.skipIf(!installed)('the official openai SDK against the local speech server', { timeout: 300_000 }, () => {
  let server: LocalSpeechServer;
  let client: OpenAI;
  beforeAll(async () => {
    server = await startSpeech();
    client = new OpenAI({ baseURL: server.url, apiKey: 'unused' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('models.list() lists the served models', async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) {
      expect(m.object).toBe('model');
      ids.push(m.id);
    }
    expect(ids).toEqual(expect.arrayContaining(['whisper-tiny.en', 'espeak-ng', 'gemma-3-270m-q4_k_m']));
  });

  it('audio.transcriptions.create() transcribes the JFK sample', async () => {
    const file = await toFile(readFileSync(join(ROOT, 'test/fixtures/audio/jfk_16k.wav')), 'jfk_16k.wav', { type: 'audio/wav' });
    const t = await client.audio.transcriptions.create({ file, model: 'whisper-1', language: 'en' });
    const text = t.text.toLowerCase();
    for (const word of ['americans', 'ask not', 'your country', 'can do for you']) expect(text).toContain(word);
    const verbose = await client.audio.transcriptions.create({ file: await toFile(readFileSync(join(ROOT, 'test/fixtures/audio/jfk_16k.wav')), 'jfk_16k.wav'), model: 'whisper-1', response_format: 'verbose_json' });
    expect(verbose.duration).toBeCloseTo(11, 0);
    expect(verbose.segments!.length).toBeGreaterThan(0);
  });

  it('audio.speech.create() returns WAV and pcm that decode to the same non-silent speech', async () => {
    const input = 'The quick brown fox jumps over the lazy dog.';
    const wavRes = await client.audio.speech.create({ model: 'espeak-ng', voice: 'alloy', input, response_format: 'wav' });
    const wav = decodeWav(new Uint8Array(await wavRes.arrayBuffer()), 'speech.wav');
    expect(wav.channels).toBe(1);
    const wavSeconds = wav.frames / wav.sampleRate;
    expect(wavSeconds).toBeGreaterThan(1);
    expect(rms(wav.mono)).toBeGreaterThan(0.01);

    const pcmRes = await client.audio.speech.create({ model: 'espeak-ng', voice: 'alloy', input, response_format: 'pcm' });
    const bytes = new Uint8Array(await pcmRes.arrayBuffer());
    expect(bytes.byteLength % 2).toBe(0);
    // OpenAI's pcm: signed 16-bit little-endian, mono, 24 kHz.
    const pcm = new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
    expect(pcm.length / 24_000).toBeCloseTo(wavSeconds, 1);
    expect(rms(Float32Array.from(pcm, (s) => s / 32768))).toBeGreaterThan(0.01);
  });

  it('chat.completions.create() returns text within max_tokens', async () => {
    const c = await client.chat.completions.create({
      model: 'gemma-3-270m-q4_k_m',
      messages: [{ role: 'system', content: 'Answer in one short sentence.' }, { role: 'user', content: 'What colour is the sky on a clear day?' }],
      temperature: 0,
      max_tokens: 16,
    });
    expect(c.object).toBe('chat.completion');
    const choice = c.choices[0]!;
    expect(choice.message.role).toBe('assistant');
    expect((choice.message.content ?? '').trim().length).toBeGreaterThan(0);
    expect(['stop', 'length']).toContain(choice.finish_reason);
    expect(c.usage!.completion_tokens).toBeGreaterThan(0);
    expect(c.usage!.completion_tokens).toBeLessThanOrEqual(16);
  });

  it('bad requests reject with the SDK typed errors carrying the server code and param', async () => {
    const tooLong = await client.audio.speech.create({ model: 'espeak-ng', voice: 'alloy', input: 'x'.repeat(5000) }).catch((e: unknown) => e);
    expect(tooLong).toBeInstanceOf(BadRequestError);
    expect(tooLong).toMatchObject({ status: 400, code: 'input_too_long', param: 'input' });
    const unknown = await client.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'hello' }] }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(NotFoundError);
    expect(unknown).toMatchObject({ status: 404, code: 'model_not_found' });
    expect(unknown).toBeInstanceOf(OpenAI.APIError);
  });
});
