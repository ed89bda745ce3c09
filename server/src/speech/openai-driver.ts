/**
 * The one speech driver: it speaks the OpenAI-compatible HTTP API (`/v1/audio/transcriptions`,
 * `/v1/audio/speech`, `/v1/chat/completions`, `/v1/models`), so the same code drives the project's
 * local speech server, OpenVINO Model Server, whisper.cpp's server, Ollama or vLLM.
 */
import { ApiError, PrometheanError, decodeWav } from '@promethean/shared';
import type { Completion, CompleteInput, Llm, ModelInfo, ModelRef, SpeechAudio, Stt, SynthesizeInput, Transcript, TranscribeInput, Tts } from './types.ts';
import { encodeWavS16 } from './wav.ts';

export interface OpenAiEndpointOptions {
  /** The endpoint's name in speech.yml (`local`); shown in every output's `models`. */
  name: string;
  /** Base URL including `/v1` (`http://127.0.0.1:8791/v1`). */
  baseUrl: string;
  /** Sent as a bearer token when set (remote endpoints); the local server needs none. */
  apiKey?: string;
  /** Per-request limit. */
  timeoutMs: number;
}

export const defaultOpenAiEndpointOptions = { timeoutMs: 120_000 } satisfies Partial<OpenAiEndpointOptions>;

/** An error answered by the endpoint, in OpenAI's shape (`error.code`, `error.type`, `error.param`). */
export class SpeechApiError extends ApiError {
  override name = 'SpeechApiError';
  readonly code: string;
  readonly type: string;
  readonly param: string | null;
  constructor(status: number, code: string, type: string, param: string | null, message: string) {
    super(status, message);
    this.code = code;
    this.type = type;
    this.param = param;
  }
}

/** An HTTP client for one OpenAI-compatible endpoint. */
export class OpenAiEndpoint {
  readonly options: OpenAiEndpointOptions;

  constructor(options: Partial<OpenAiEndpointOptions> & Pick<OpenAiEndpointOptions, 'name' | 'baseUrl'>) {
    this.options = { ...defaultOpenAiEndpointOptions, ...options };
  }

  async request(path: string, init: RequestInit & { signal?: AbortSignal | null }): Promise<Response> {
    const signals = [AbortSignal.timeout(this.options.timeoutMs), ...(init.signal ? [init.signal] : [])];
    const headers = new Headers(init.headers);
    if (this.options.apiKey) headers.set('authorization', `Bearer ${this.options.apiKey}`);
    let res: Response;
    try {
      res = await fetch(`${this.options.baseUrl.replace(/\/$/, '')}${path}`, { ...init, headers, signal: AbortSignal.any(signals) });
    } catch (cause) {
      const e = cause as Error;
      if (e.name === 'TimeoutError') throw new PrometheanError('timeout', `${this.options.name}: ${path} took longer than ${this.options.timeoutMs} ms`, { cause });
      if (e.name === 'AbortError') throw e;
      throw new PrometheanError('unavailable', `${this.options.name}: ${path}: ${e.message}`, { cause });
    }
    if (!res.ok) throw await toError(res, this.options.name, path);
    return res;
  }

  async listModels(): Promise<ModelInfo[]> {
    const body = (await (await this.request('/models', { method: 'GET' })).json()) as { data?: Array<Record<string, unknown>> };
    return (body.data ?? []).map((m) => ({
      id: String(m.id),
      ...(typeof m.kind === 'string' ? { kind: m.kind } : {}),
      ...(typeof m.engine === 'string' ? { engine: m.engine } : {}),
      ...(typeof m.backend === 'string' ? { backend: m.backend } : {}),
      ...(typeof m.licence === 'string' ? { licence: m.licence } : {}),
      ...(typeof m.size_bytes === 'number' ? { sizeBytes: m.size_bytes } : {}),
    }));
  }
}

async function toError(res: Response, name: string, path: string): Promise<SpeechApiError> {
  const text = await res.text().catch(() => '');
  let err: { message?: unknown; code?: unknown; type?: unknown; param?: unknown } = {};
  try {
    const parsed = JSON.parse(text) as { error?: typeof err };
    if (parsed && typeof parsed.error === 'object' && parsed.error) err = parsed.error;
  } catch {
    // not JSON: the status line and the first bytes of the body say what happened
  }
  const message = typeof err.message === 'string' ? err.message : `HTTP ${res.status} ${text.slice(0, 200)}`;
  return new SpeechApiError(res.status, typeof err.code === 'string' ? err.code : `http_${res.status}`, typeof err.type === 'string' ? err.type : 'api_error', typeof err.param === 'string' ? err.param : null, `${name}: ${path}: ${message}`);
}

function modelRefs(raw: unknown, endpoint: string, fallback: ModelRef): ModelRef[] {
  if (!Array.isArray(raw) || raw.length === 0) return [fallback];
  return raw.map((m: Record<string, unknown>) => ({
    engine: String(m.engine ?? fallback.engine),
    model: String(m.model ?? fallback.model),
    ...(typeof m.backend === 'string' ? { backend: m.backend } : {}),
    endpoint,
  }));
}

export interface OpenAiModelOptions {
  /** The `model` sent with each request. */
  model: string;
  /** Engine name for `models` when the endpoint does not report one (Ollama, vLLM). */
  engine?: string;
}

export class OpenAiStt implements Stt {
  readonly name: string;
  readonly endpoint: OpenAiEndpoint;
  readonly options: OpenAiModelOptions & { language?: string };
  constructor(endpoint: OpenAiEndpoint, options: OpenAiModelOptions & { language?: string }) {
    this.endpoint = endpoint;
    this.options = options;
    this.name = `${endpoint.options.name}/${options.model}`;
  }

  async transcribe(input: TranscribeInput): Promise<Transcript> {
    let bytes: Uint8Array;
    let filename: string;
    if (input.file) {
      bytes = input.file.bytes;
      filename = input.file.name;
    } else if (input.pcm && input.sampleRate) {
      bytes = encodeWavS16(input.pcm, input.sampleRate);
      filename = 'audio.wav';
    } else {
      throw new PrometheanError('schema', 'transcribe() needs `file`, or `pcm` with `sampleRate`');
    }
    const form = new FormData();
    form.set('file', new Blob([bytes as Uint8Array<ArrayBuffer>]), filename);
    form.set('model', this.options.model);
    form.set('response_format', 'verbose_json');
    if (input.words) form.append('timestamp_granularities[]', 'word');
    form.append('timestamp_granularities[]', 'segment');
    const language = input.language ?? this.options.language;
    if (language) form.set('language', language);
    if (input.prompt) form.set('prompt', input.prompt);
    const t0 = performance.now();
    const res = await this.endpoint.request('/audio/transcriptions', { method: 'POST', body: form, signal: input.signal ?? null });
    const body = (await res.json()) as Record<string, unknown>;
    const elapsed = (performance.now() - t0) / 1000;
    const duration = typeof body.duration === 'number' ? body.duration : input.pcm && input.sampleRate ? input.pcm.length / input.sampleRate : 0;
    const segments = Array.isArray(body.segments) ? (body.segments as Array<Record<string, unknown>>) : [];
    const words = Array.isArray(body.words) ? (body.words as Array<Record<string, unknown>>) : [];
    return {
      text: String(body.text ?? '').trim(),
      language: String(body.language ?? language ?? ''),
      duration,
      segments: segments.map((s) => ({
        start: Number(s.start),
        end: Number(s.end),
        text: String(s.text ?? ''),
        ...(typeof s.avg_logprob === 'number' ? { avgLogprob: s.avg_logprob } : {}),
        ...(typeof s.no_speech_prob === 'number' ? { noSpeechProb: s.no_speech_prob } : {}),
      })),
      words: words.map((w) => ({ word: String(w.word ?? '').trim(), start: Number(w.start), end: Number(w.end), ...(typeof w.probability === 'number' ? { probability: w.probability } : {}) })),
      rtf: duration > 0 ? elapsed / duration : 0,
      models: modelRefs(body.models, this.endpoint.options.name, { engine: this.options.engine ?? 'openai-compatible', model: this.options.model, endpoint: this.endpoint.options.name }),
    };
  }
}

export class OpenAiTts implements Tts {
  readonly name: string;
  readonly endpoint: OpenAiEndpoint;
  readonly options: OpenAiModelOptions & { voice?: string };
  constructor(endpoint: OpenAiEndpoint, options: OpenAiModelOptions & { voice?: string }) {
    this.endpoint = endpoint;
    this.options = options;
    this.name = `${endpoint.options.name}/${options.model}`;
  }

  async synthesize(input: SynthesizeInput): Promise<SpeechAudio> {
    const t0 = performance.now();
    const res = await this.endpoint.request('/audio/speech', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: this.options.model, input: input.text, voice: input.voice ?? this.options.voice ?? 'alloy', response_format: 'wav', ...(input.speed !== undefined ? { speed: input.speed } : {}) }),
      signal: input.signal ?? null,
    });
    const reader = res.body!.getReader();
    const chunks: Uint8Array[] = [];
    let firstAudioMs = -1;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (firstAudioMs < 0) firstAudioMs = performance.now() - t0;
      chunks.push(value);
    }
    const bytes = Buffer.concat(chunks);
    const wav = decodeWav(bytes, `${this.name} speech`);
    const pcm = new Int16Array(wav.mono.length);
    for (let i = 0; i < pcm.length; i++) pcm[i] = Math.max(-32768, Math.min(32767, Math.round(wav.mono[i]! * 32768)));
    const header = res.headers.get('x-models');
    const [engine, model, backend] = header ? header.split('/') : [];
    return {
      pcm,
      sampleRate: wav.sampleRate,
      firstAudioMs: Math.max(0, firstAudioMs),
      models: [{ engine: engine ?? this.options.engine ?? 'openai-compatible', model: model ?? this.options.model, ...(backend ? { backend } : {}), endpoint: this.endpoint.options.name }],
    };
  }
}

export class OpenAiLlm implements Llm {
  readonly name: string;
  readonly endpoint: OpenAiEndpoint;
  readonly options: OpenAiModelOptions & { temperature?: number; maxTokens?: number };
  constructor(endpoint: OpenAiEndpoint, options: OpenAiModelOptions & { temperature?: number; maxTokens?: number }) {
    this.endpoint = endpoint;
    this.options = options;
    this.name = `${endpoint.options.name}/${options.model}`;
  }

  async complete(input: CompleteInput): Promise<Completion> {
    const t0 = performance.now();
    const res = await this.endpoint.request('/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: this.options.model,
        messages: input.messages,
        temperature: input.temperature ?? this.options.temperature ?? 0,
        max_tokens: input.maxTokens ?? this.options.maxTokens ?? 128,
        ...(input.seed !== undefined ? { seed: input.seed } : {}),
        ...(input.stop?.length ? { stop: input.stop } : {}),
      }),
      signal: input.signal ?? null,
    });
    const body = (await res.json()) as Record<string, unknown>;
    const elapsed = (performance.now() - t0) / 1000;
    const choice = (Array.isArray(body.choices) ? body.choices[0] : undefined) as { message?: { content?: unknown }; finish_reason?: unknown } | undefined;
    if (!choice) throw new PrometheanError('internal', `${this.name}: the completion has no choices`);
    const usage = (body.usage ?? {}) as { prompt_tokens?: number; completion_tokens?: number };
    const completionTokens = usage.completion_tokens ?? 0;
    return {
      text: String(choice.message?.content ?? ''),
      finishReason: String(choice.finish_reason ?? 'stop'),
      promptTokens: usage.prompt_tokens ?? 0,
      completionTokens,
      tokensPerSecond: elapsed > 0 ? completionTokens / elapsed : 0,
      models: modelRefs(body.models, this.endpoint.options.name, { engine: this.options.engine ?? 'openai-compatible', model: String(body.model ?? this.options.model), endpoint: this.endpoint.options.name }),
    };
  }
}
