/**
 * The speech engines behind one interface each: `Stt`, `Tts`, `Llm`. Workers depend on these, never on
 * a driver; `server/src/speech/engines.ts` builds the drivers a tenant's config names. Every output
 * carries `models`: which engine, model and backend produced it.
 */

/** Which engine, model and backend produced an output. */
export interface ModelRef {
  /** The engine (`faster-whisper`, `piper`, `llama.cpp`, or the endpoint's own name). */
  engine: string;
  /** The model id the engine was asked for (`whisper-tiny.en`). */
  model: string;
  /** Where it ran (`ctranslate2-int8`, `onnxruntime`, `openvino`), when the engine says. */
  backend?: string;
  /** The configured endpoint name from speech.yml (`local`). */
  endpoint: string;
}

export interface TranscribeInput {
  /** Mono PCM, signed 16-bit, at `sampleRate` (or a complete audio file in `file`). */
  pcm?: Int16Array;
  sampleRate?: number;
  /** A whole audio file (WAV, Ogg/Opus, FLAC, MP3) as bytes, instead of `pcm`. */
  file?: { bytes: Uint8Array; name: string };
  /** ISO-639-1 language; undefined lets a multilingual model detect it. */
  language?: string;
  /** Words with start/end times (seconds from the start of the audio). */
  words?: boolean;
  /** Text that primes the decoder (names, jargon). */
  prompt?: string;
  signal?: AbortSignal;
}

export interface TranscriptWord {
  word: string;
  /** Seconds from the start of the audio. */
  start: number;
  end: number;
  probability?: number;
}

export interface TranscriptSegment {
  start: number;
  end: number;
  text: string;
  /** Mean token log-probability, when the engine gives it. */
  avgLogprob?: number;
  noSpeechProb?: number;
}

export interface Transcript {
  text: string;
  language: string;
  /** Audio duration in seconds. */
  duration: number;
  segments: TranscriptSegment[];
  words: TranscriptWord[];
  /** Wall time of the request divided by the audio's duration. */
  rtf: number;
  models: ModelRef[];
}

export interface Stt {
  readonly name: string;
  transcribe(input: TranscribeInput): Promise<Transcript>;
}

export interface SynthesizeInput {
  text: string;
  /** Voice name; engines that have one voice ignore it. */
  voice?: string;
  /** 0.25–4, 1 = normal. */
  speed?: number;
  signal?: AbortSignal;
}

export interface SpeechAudio {
  /** Mono PCM, signed 16-bit. */
  pcm: Int16Array;
  sampleRate: number;
  /** Milliseconds from the request to the first byte of audio. */
  firstAudioMs: number;
  models: ModelRef[];
}

export interface Tts {
  readonly name: string;
  synthesize(input: SynthesizeInput): Promise<SpeechAudio>;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface CompleteInput {
  messages: ChatMessage[];
  /** 0 = greedy: the same request gives the same answer. */
  temperature?: number;
  maxTokens?: number;
  seed?: number;
  stop?: string[];
  signal?: AbortSignal;
}

export interface Completion {
  text: string;
  finishReason: 'stop' | 'length' | string;
  promptTokens: number;
  completionTokens: number;
  /** Completion tokens per second of wall time. */
  tokensPerSecond: number;
  models: ModelRef[];
}

export interface Llm {
  readonly name: string;
  complete(input: CompleteInput): Promise<Completion>;
}

export interface ModelInfo {
  id: string;
  kind?: string;
  engine?: string;
  backend?: string;
  licence?: string;
  sizeBytes?: number;
}
