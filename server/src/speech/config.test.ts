import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PrometheanError } from '@promethean/shared';
import { choiceFor, createEngines, parseSpeechConfig } from './config.ts';

const BASE = `version: 1
endpoints:
  local: { url: local }
  remote: { url: "http://10.0.0.2:9000/v1", api_key_env: REMOTE_KEY }
defaults:
  stt: { endpoint: local, model: whisper-tiny.en }
  tts: { endpoint: local, model: piper-en_US-joe-medium }
  llm: { endpoint: local, model: gemma-3-270m-q4_k_m, temperature: 0 }
tenants:
  discord/demo:
    llm: { endpoint: remote, model: big }
    guilds:
      "42": { stt: { endpoint: local, model: whisper-base, language: de } }
`;

function badConfig(text: string): PrometheanError {
  try {
    parseSpeechConfig(text, 'speech.yml');
  } catch (e) {
    return e as PrometheanError;
  }
  throw new Error('expected a bad_config error');
}

describe('speech.yml', () => {
  it('the checked-in speech.yml parses', () => {
    const config = parseSpeechConfig(readFileSync(new URL('../../../speech.yml', import.meta.url), 'utf8'));
    expect(config.defaults.stt.model).toBe('whisper-tiny.en');
  });

  it('choiceFor() takes the guild over the tenant over the defaults', () => {
    const c = parseSpeechConfig(BASE);
    expect(choiceFor(c, 'stt', { tenant: 'discord/demo', guild: '42' })).toEqual({ endpoint: 'local', model: 'whisper-base', language: 'de' });
    expect(choiceFor(c, 'stt', { tenant: 'discord/demo', guild: '7' }).model).toBe('whisper-tiny.en');
    expect(choiceFor(c, 'llm', { tenant: 'discord/demo' }).model).toBe('big');
    expect(choiceFor(c, 'llm', { tenant: 'discord/other' }).model).toBe('gemma-3-270m-q4_k_m');
    expect(choiceFor(c, 'tts').model).toBe('piper-en_US-joe-medium');
  });

  it('createEngines() resolves `local` to the running server and reads a token only from its variable', () => {
    const c = parseSpeechConfig(BASE);
    const e = createEngines(c, { tenant: 'discord/demo', guild: '42' }, { localUrl: 'http://127.0.0.1:1234/v1', env: { REMOTE_KEY: 'k' } });
    expect(e.stt.name).toBe('local/whisper-base');
    expect(e.llm.name).toBe('remote/big');
    expect(() => createEngines(c, { tenant: 'discord/demo' }, { localUrl: 'http://127.0.0.1:1/v1', env: {} })).toThrow(/REMOTE_KEY is not set/);
    expect(() => createEngines(c, {}, {})).toThrow(/local speech server, which is not running/);
  });

  it('bad config is a bad_config error naming the field', () => {
    expect(badConfig(BASE.replace('version: 1', 'version: 2')).path).toBe('version');
    const unknownEndpoint = badConfig(BASE.replace('tts: { endpoint: local', 'tts: { endpoint: nowhere'));
    expect(unknownEndpoint.code).toBe('bad_config');
    expect(unknownEndpoint.message).toMatch(/defaults\.tts\.endpoint: no endpoint "nowhere"/);
    expect(badConfig(BASE.replace('temperature: 0', 'temperature: 9')).path).toBe('defaults.llm.temperature');
    expect(badConfig(BASE.replace('language: de', 'language: German')).path).toContain('language');
    expect(badConfig(BASE.replace('url: local', 'url: "ftp://x"')).path).toBe('endpoints.local.url');
    expect(badConfig(BASE.replace('api_key_env: REMOTE_KEY', 'api_key_env: "sk-literal secret"')).path).toBe('endpoints.remote.api_key_env');
    expect(badConfig(BASE + 'extra: 1\n').message).toMatch(/extra/);
    expect(badConfig('version: [').message).toMatch(/YAML syntax error/);
  });
});
