import { describe, expect, it } from 'vitest';
import { PrometheanError } from './errors.ts';
import {
  expandAlternations,
  isIntent,
  isTopicPattern,
  MAX_ALTERNATION_EXPANSION,
  matchTokens,
  matchTopic,
  parseTopic,
  topic,
} from './topics.ts';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PrometheanError);
    return (error as PrometheanError).code;
  }
  return undefined;
}

describe('topic()', () => {
  it('builds promethean.p.<provider>.t.<tenant>.<intent>', () => {
    expect(topic('discord', 'demo', 'voice.audio.pcm')).toBe('promethean.p.discord.t.demo.voice.audio.pcm');
    expect(topic('discord', 'demo', 'events.SocialMessageCreated')).toBe('promethean.p.discord.t.demo.events.SocialMessageCreated');
  });

  it('throws bad_topic for a bad provider, tenant or intent token', () => {
    expect(codeOf(() => topic('Discord', 'demo', 'health'))).toBe('bad_topic');
    expect(codeOf(() => topic('discord', 'de.mo', 'health'))).toBe('bad_topic');
    expect(codeOf(() => topic('discord', 'demo', 'voice..pcm'))).toBe('bad_topic');
    expect(codeOf(() => topic('discord', 'demo', 'voice.*'))).toBe('bad_topic');
    expect(codeOf(() => topic('discord', 'demo', ''))).toBe('bad_topic');
  });
});

describe('parseTopic()', () => {
  it('round-trips topic()', () => {
    const t = topic('discord', 'demo', 'voice.control.set-bitrate');
    expect(parseTopic(t)).toEqual({ provider: 'discord', tenant: 'demo', intent: 'voice.control.set-bitrate' });
  });

  it('returns undefined for wildcards, missing intent, wrong prefix or bad tokens', () => {
    expect(parseTopic('promethean.p.discord.t.demo')).toBeUndefined();
    expect(parseTopic('promethean.p.*.t.demo.health')).toBeUndefined();
    expect(parseTopic('promethean.p.discord.t.demo.voice.>')).toBeUndefined();
    expect(parseTopic('other.p.discord.t.demo.health')).toBeUndefined();
    expect(parseTopic('promethean.x.discord.t.demo.health')).toBeUndefined();
    expect(parseTopic(`promethean.p.discord.t.demo.${'a'.repeat(300)}`)).toBeUndefined();
  });
});

describe('isIntent() / isTopicPattern()', () => {
  it('accepts dot-separated tokens including event names', () => {
    expect(isIntent('health')).toBe(true);
    expect(isIntent('events.SocialMessageCreated')).toBe(true);
    expect(isIntent('voice.audio.')).toBe(false);
    expect(isIntent('voice audio')).toBe(false);
  });

  it('allows * anywhere and > only as the last token', () => {
    expect(isTopicPattern('promethean.p.*.t.*.voice.>')).toBe(true);
    expect(isTopicPattern('>')).toBe(true);
    expect(isTopicPattern('promethean.>.health')).toBe(false);
    expect(isTopicPattern('promethean.p.disc*rd.t.demo')).toBe(false);
    expect(isTopicPattern('promethean..p')).toBe(false);
    expect(isTopicPattern('')).toBe(false);
  });
});

describe('matchTopic() follows NATS subject rules', () => {
  const cases: Array<[string, string, boolean]> = [
    ['promethean.p.discord.t.demo.health', 'promethean.p.discord.t.demo.health', true],
    ['promethean.p.discord.t.demo.health', 'promethean.p.discord.t.demo.health.x', false],
    ['promethean.p.*.t.*.health', 'promethean.p.discord.t.demo.health', true],
    // `*` matches exactly one token, never zero and never two.
    ['promethean.p.*.t.demo.voice.*', 'promethean.p.discord.t.demo.voice', false],
    ['promethean.p.*.t.demo.voice.*', 'promethean.p.discord.t.demo.voice.audio.pcm', false],
    ['promethean.p.*.t.demo.voice.*', 'promethean.p.discord.t.demo.voice.health', true],
    // `>` matches one or more trailing tokens, never zero.
    ['promethean.p.discord.t.demo.voice.>', 'promethean.p.discord.t.demo.voice.audio.pcm', true],
    ['promethean.p.discord.t.demo.voice.>', 'promethean.p.discord.t.demo.voice.health', true],
    ['promethean.p.discord.t.demo.voice.>', 'promethean.p.discord.t.demo.voice', false],
    ['>', 'promethean', true],
    ['*', 'promethean.p', false],
    ['promethean.p.discord.t.demo.voice', 'promethean.p.discord.t.demo.voice.audio', false],
  ];
  for (const [pattern, subject, expected] of cases) {
    it(`${pattern} ${expected ? 'matches' : 'does not match'} ${subject}`, () => {
      expect(matchTopic(pattern, subject)).toBe(expected);
      expect(matchTokens(pattern.split('.'), subject.split('.'))).toBe(expected);
    });
  }
});

describe('expandAlternations()', () => {
  it('returns a string without groups unchanged', () => {
    expect(expandAlternations('voice.health')).toEqual(['voice.health']);
  });

  it('expands one group in the order written', () => {
    expect(expandAlternations('voice.control.(join|leave|set-bitrate)')).toEqual([
      'voice.control.join',
      'voice.control.leave',
      'voice.control.set-bitrate',
    ]);
  });

  it('expands several groups to their cartesian product, first group varying slowest', () => {
    expect(expandAlternations('voice.(audio|play).(pcm|opus)')).toEqual([
      'voice.audio.pcm',
      'voice.audio.opus',
      'voice.play.pcm',
      'voice.play.opus',
    ]);
    expect(expandAlternations('(a|b)(c|d|e)x')).toHaveLength(6);
  });

  it('expands groups inside a token as well as whole tokens', () => {
    expect(expandAlternations('jobs.backfill.messages.(progress|done|error)')).toEqual([
      'jobs.backfill.messages.progress',
      'jobs.backfill.messages.done',
      'jobs.backfill.messages.error',
    ]);
    expect(expandAlternations('voice.play.(pcm|pcm.out)')).toEqual(['voice.play.pcm', 'voice.play.pcm.out']);
  });

  it('throws bad_topic for unbalanced, nested or empty groups', () => {
    for (const bad of ['voice.(join|leave', 'voice.join)', 'voice.a|b', 'voice.((a|b))', 'voice.(a||b)', 'voice.()', 'a).(b|c)', '(a|b)|c']) {
      expect(codeOf(() => expandAlternations(bad)), bad).toBe('bad_topic');
    }
  });

  it(`throws bad_topic when the product exceeds ${MAX_ALTERNATION_EXPANSION} strings`, () => {
    const group = `(${Array.from({ length: 11 }, (_, i) => `t${i}`).join('|')})`;
    expect(expandAlternations(`${group}.${group}`)).toHaveLength(121);
    expect(codeOf(() => expandAlternations(`${group}.${group}.${group}`))).toBe('bad_topic');
  });
});
