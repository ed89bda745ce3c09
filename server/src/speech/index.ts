export type * from './types.ts';
export { OpenAiEndpoint, OpenAiLlm, OpenAiStt, OpenAiTts, SpeechApiError, defaultOpenAiEndpointOptions, type OpenAiEndpointOptions, type OpenAiModelOptions } from './openai-driver.ts';
export { LOCAL_URL, SpeechConfigSchema, choiceFor, createEngines, loadSpeechConfig, parseSpeechConfig, type SpeechConfig, type SpeechScope, type EngineContext } from './config.ts';
export { startLocalSpeechServer, speechServerCommand, defaultLocalSpeechServerOptions, defaultSpeechCacheDir, type LocalSpeechServer, type LocalSpeechServerOptions } from './local-server.ts';
export { normalizeWords, wordEdits, wordErrorRate, type WerResult } from './wer.ts';
export { encodeWavS16 } from './wav.ts';
