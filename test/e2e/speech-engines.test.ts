/**
 * The Stt, Tts and Llm conformance suites against the project's own local speech server, every model
 * it serves, through the one OpenAI-compatible driver.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAiEndpoint, OpenAiLlm, OpenAiStt, OpenAiTts, SpeechApiError } from '../../server/src/speech/openai-driver.ts';
import { runSttSuite } from '../../server/src/speech/stt.suite.ts';
import { runTtsSuite } from '../../server/src/speech/tts.suite.ts';
import { runLlmSuite } from '../../server/src/speech/llm.suite.ts';
import type { LocalSpeechServer } from '../../server/src/speech/local-server.ts';
import { speechInstalled, startSpeech } from './speech-support.ts';

const installed = speechInstalled();

describe.skipIf(!installed)('local speech server', { timeout: 300_000 }, () => {
  let server: LocalSpeechServer;
  let endpoint: OpenAiEndpoint;
  beforeAll(async () => {
    server = await startSpeech();
    endpoint = new OpenAiEndpoint({ name: 'local', baseUrl: server.url });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('/v1/models lists every model of the manifest with engine, backend and licence', async () => {
    const models = await endpoint.listModels();
    const ids = models.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['whisper-tiny.en', 'whisper-base', 'piper-en_US-joe-medium', 'piper-en_US-joe-medium:openvino', 'espeak-ng', 'gemma-3-270m-q4_k_m']));
    for (const m of models) expect(m.engine).toBeTruthy();
    expect(models.find((m) => m.id === 'whisper-tiny.en')!.licence).toMatch(/MIT/);
  });

  it('bad requests get OpenAI-shaped errors and the server stays up', async () => {
    const post = (path: string, body: BodyInit, type?: string) => fetch(`${server.url}${path}`, { method: 'POST', body, ...(type ? { headers: { 'content-type': type } } : {}) });
    const cases: Array<[Response, number, string]> = [
      [await post('/chat/completions', '{not json', 'application/json'), 400, 'invalid_json'],
      [await post('/chat/completions', JSON.stringify({ messages: [{ role: 'wizard', content: 'x' }] }), 'application/json'), 400, 'invalid_value'],
      [await post('/chat/completions', JSON.stringify({ messages: [{ role: 'user', content: 'x' }], temperature: 'hot' }), 'application/json'), 400, 'invalid_value'],
      [await post('/chat/completions', JSON.stringify({ model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] }), 'application/json'), 404, 'model_not_found'],
      [await post('/audio/speech', JSON.stringify({ input: 'x'.repeat(5000) }), 'application/json'), 400, 'input_too_long'],
      [await post('/audio/speech', JSON.stringify({ input: 'hello', response_format: 'flac' }), 'application/json'), 400, 'unsupported_format'],
      [await post('/audio/transcriptions', 'x', 'text/plain'), 400, 'invalid_content_type'],
      [await post('/audio/transcriptions', new FormData()), 400, 'missing_file'],
    ];
    for (const [res, status, code] of cases) {
      expect(res.status).toBe(status);
      const body = (await res.json()) as { error: { code: string; message: string; type: string } };
      expect(body.error.code).toBe(code);
      expect(body.error.message.length).toBeGreaterThan(0);
    }
    const health = (await (await fetch(server.url.replace(/\/v1$/, '/health'))).json()) as { counters: Record<string, number> };
    expect(health.counters['errors.invalid_json']).toBeGreaterThanOrEqual(1);
    expect(health.counters['errors.model_not_found']).toBeGreaterThanOrEqual(1);
    await expect(new OpenAiLlm(endpoint, { model: 'gpt-9' }).complete({ messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(SpeechApiError);
  });

  const stt = (model: string) => () => new OpenAiStt(endpoint, { model });
  runSttSuite('faster-whisper whisper-tiny.en', { create: stt('whisper-tiny.en') });
  runSttSuite('faster-whisper whisper-base', { create: stt('whisper-base') });
  runTtsSuite('piper en_US-joe-medium on onnxruntime', { create: () => new OpenAiTts(endpoint, { model: 'piper-en_US-joe-medium' }), stt: stt('whisper-tiny.en') });
  runTtsSuite('piper en_US-joe-medium on OpenVINO', { create: () => new OpenAiTts(endpoint, { model: 'piper-en_US-joe-medium:openvino' }), stt: stt('whisper-tiny.en') });
  runTtsSuite('espeak-ng', { create: () => new OpenAiTts(endpoint, { model: 'espeak-ng' }), stt: stt('whisper-tiny.en'), maxRoundTripWer: 0.35 });
  runLlmSuite('llama.cpp gemma-3-270m-q4_k_m', { create: () => new OpenAiLlm(endpoint, { model: 'gemma-3-270m-q4_k_m' }) });
});
