import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PrometheanError } from '@promethean/shared';
import { parseSpeechConfig } from '../../speech/config.ts';
import { parseTranscriptionConfig, TranscriptionPolicy } from './config.ts';

const SPEECH_YML = readFileSync(new URL('../../../../speech.yml', import.meta.url), 'utf8');

const WITH_SECTION = `${SPEECH_YML}
transcription:
  language: en
  tenants:
    discord/demo:
      guilds:
        "1100000000000000001":
          opt_out: ["1200000000000000007", "1200000000000000008"]
        "1100000000000000009":
          language: de
    discord/acme:
      language: fr
`;

function badConfig(text: string): PrometheanError {
  try {
    parseTranscriptionConfig(text, 'speech.yml');
  } catch (e) {
    expect(e).toBeInstanceOf(PrometheanError);
    expect((e as PrometheanError).code).toBe('bad_config');
    return e as PrometheanError;
  }
  throw new Error('expected a bad_config error');
}

describe('transcription config (speech.yml)', () => {
  it('the project speech.yml without a section transcribes everyone; with one, speech.yml still parses', () => {
    expect(parseTranscriptionConfig(SPEECH_YML)).toEqual({ enabled: true });
    expect(parseSpeechConfig(WITH_SECTION).defaults.stt.model).toBe('whisper-tiny.en');
    expect(parseTranscriptionConfig(WITH_SECTION).tenants?.['discord/demo']?.guilds?.['1100000000000000001']?.opt_out).toEqual(['1200000000000000007', '1200000000000000008']);
  });

  it('optedOut() is per guild; with the guild unknown, an opt-out in any of the tenant’s guilds counts', () => {
    const p = new TranscriptionPolicy(parseTranscriptionConfig(WITH_SECTION));
    expect(p.optedOut('discord/demo', '1100000000000000001', '1200000000000000007')).toBe(true);
    expect(p.optedOut('discord/demo', '1100000000000000001', '1200000000000000099')).toBe(false);
    expect(p.optedOut('discord/demo', '1100000000000000009', '1200000000000000007')).toBe(false);
    expect(p.optedOut('discord/demo', undefined, '1200000000000000008')).toBe(true);
    expect(p.optedOut('discord/demo', undefined, '1200000000000000099')).toBe(false);
    expect(p.optedOut('discord/acme', undefined, '1200000000000000007')).toBe(false);
  });

  it('language(): guild, else tenant, else the section default', () => {
    const p = new TranscriptionPolicy(parseTranscriptionConfig(WITH_SECTION));
    expect(p.language('discord/demo', '1100000000000000009')).toBe('de');
    expect(p.language('discord/demo', '1100000000000000001')).toBe('en');
    expect(p.language('discord/acme', '5')).toBe('fr');
    expect(new TranscriptionPolicy().language('discord/demo', undefined)).toBeUndefined();
  });

  it('rejects an unquoted id, an unknown key, a bad language and a user listed twice, naming the field and line', () => {
    const unquoted = badConfig('transcription:\n  tenants:\n    discord/demo:\n      guilds:\n        "1":\n          opt_out: [1200000000000000007]\n');
    expect(unquoted.path).toBe('transcription.tenants.discord/demo.guilds.1.opt_out.0');
    expect(unquoted.message).toMatch(/must be a quoted numeric id .*\(line 6\)/);
    const unknown = badConfig('transcription:\n  enabled: true\n  optout: []\n');
    expect(unknown.path).toBe('transcription.optout');
    const lang = badConfig('transcription:\n  language: english\n');
    expect(lang.message).toMatch(/transcription.language: must be an ISO-639-1 code/);
    const twice = badConfig('transcription:\n  tenants:\n    discord/demo:\n      guilds:\n        "1":\n          opt_out: ["5", "6", "5"]\n');
    expect(twice.path).toBe('transcription.tenants.discord/demo.guilds.1.opt_out.2');
    expect(twice.message).toMatch(/listed twice/);
  });

  it('enabled: false turns transcription off', () => {
    expect(new TranscriptionPolicy(parseTranscriptionConfig('transcription:\n  enabled: false\n')).enabled).toBe(false);
  });
});
