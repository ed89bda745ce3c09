/** The rule model: phrases, guarded regular expressions, rule definitions and the config file. */
import { describe, expect, it } from 'vitest';
import { PrometheanError } from '@promethean/shared';
import { ModerationRuleError } from './errors.ts';
import { compilePhrase, findPhrase, words } from './phrase.ts';
import { MAX_PATTERN_LENGTH, RegexRunner, compileRegex } from './regex.ts';
import { compileRule, parseRuleDefinition } from './rules.ts';
import { parseModerationConfig } from './config.ts';

const find = (phrase: string, text: string) => {
  const m = findPhrase(compilePhrase(phrase), words(text));
  return m ? text.slice(m.start, m.end) : undefined;
};

describe('phrase rules', () => {
  it('match whole words regardless of case and diacritics, and report the span as written', () => {
    expect(find('cafe creme', 'Un CAFÉ Crème, s’il vous plaît')).toBe('CAFÉ Crème');
    expect(find('strasse', 'die Hauptstraße und die Straße')).toBe('Straße');
    expect(find('naive', 'that was NAÏVE of me')).toBe('NAÏVE');
    expect(find('kill yourself', 'just kill, yourself!')).toBe('kill, yourself');
  });

  it('never match part of a longer word', () => {
    expect(find('hell', 'hello there, shell')).toBeUndefined();
    expect(find('hell', 'what the hell.')).toBe('hell');
    expect(find('ass', 'a classic assessment')).toBeUndefined();
  });

  it('keep apostrophes inside words', () => {
    expect(find("don't", 'I DON’T care')).toBe('DON’T');
    expect(find('dont', "I don't care")).toBeUndefined();
  });

  it('refuse an empty phrase, one without words and one that is too long with ModerationRuleError', () => {
    for (const bad of ['', '   ', '?!…', 'x '.repeat(101)]) expect(() => compilePhrase(bad)).toThrow(ModerationRuleError);
  });
});

describe('regex rules', () => {
  it('compile once with the i and u flags and match case-insensitively', () => {
    const re = compileRegex('\\b\\d{3}[ -]\\d{4}\\b');
    expect(re.flags).toBe('iu');
    expect(re.exec('call 555-1234 now')?.index).toBe(5);
    expect(compileRegex('hello (there|world)').test('HELLO World')).toBe(true);
    expect(compileRegex('\\p{Lu}{2,}').test('ab CD')).toBe(true);
  });

  it.each([
    ['(a+)+$', 'nested quantifier'],
    ['(\\w+\\s?)*x', 'nested quantifier'],
    ['(a|aa)*b', 'quantified alternation'],
    ['((ab)*c)+', 'quantifier two levels deep'],
    ['(a)\\1', 'backreference'],
    ['(?<n>a)\\k<n>', 'named backreference'],
    ['foo(?=bar)', 'lookahead'],
    ['(?<!x)y', 'lookbehind'],
    ['a{1,1000}', 'repeat over the limit'],
    ['a**', 'double quantifier'],
    ['(ab', 'unbalanced group'],
    ['[ab', 'unclosed class'],
    ['\\q', 'unknown escape'],
  ])('refuses %s (%s) with ModerationRuleError', (pattern) => {
    expect(() => compileRegex(pattern)).toThrow(ModerationRuleError);
  });

  it('refuses a pattern over the length limit', () => {
    expect(() => compileRegex('a'.repeat(MAX_PATTERN_LENGTH + 1))).toThrow(/at most/);
    expect(compileRegex('a'.repeat(MAX_PATTERN_LENGTH)).source).toHaveLength(MAX_PATTERN_LENGTH);
  });

  it('agrees with the engine itself on what an allowed pattern matches', () => {
    const cases: [string, string][] = [
      ['\\bcard\\s*\\d{4}[ -]?\\d{4}\\b', 'my CARD 1234 5678 ok'],
      ['(ab)+c', 'xxababc'],
      ['^(?:hi|hello)\\b', 'Hello there'],
      ['[a-z]+@[a-z]+\\.com', 'mail x@y.com'],
      ['colou?r', 'what COLOR'],
    ];
    const runner = new RegexRunner();
    for (const [pattern, text] of cases) {
      const reference = new RegExp(pattern, 'iu').exec(text);
      const [outcome] = runner.run([{ key: pattern, re: compileRegex(pattern) }], text);
      expect(outcome).toEqual(reference ? [reference.index, reference[0].length] : null);
    }
  });

  it('bounds a pattern the syntax allows but that backtracks polynomially: it times out alone, the other rules still answer, and it is quarantined after maxStrikes', () => {
    // A budget generous enough that a loaded machine never runs the fast rule past it; the slow one needs far longer.
    const runner = new RegexRunner({ budgetMs: 1000, maxStrikes: 2 });
    const slow = { key: 'slow', re: compileRegex('\\w*\\w*\\w*\\w*\\w*\\w*\\w*!') };
    const fine = { key: 'fine', re: compileRegex('needle') };
    const text = `${'a'.repeat(3000)} needle`;
    const first = runner.run([slow, fine], text);
    expect(first).toEqual(['timeout', [3001, 6]]);
    expect(runner.counters).toMatchObject({ batchTimeouts: 1, ruleTimeouts: 1, quarantined: 0 });
    expect(runner.isQuarantined('slow')).toBe(false);
    expect(runner.run([slow, fine], text)).toEqual(['timeout', [3001, 6]]);
    expect(runner.isQuarantined('slow')).toBe(true);
    expect(runner.counters.quarantined).toBe(1);
    // Quarantined: skipped without running.
    expect(runner.run([slow, fine], text)).toEqual(['quarantined', [3001, 6]]);
    expect(runner.counters.batchTimeouts).toBe(2);
    runner.forgive('slow');
    expect(runner.isQuarantined('slow')).toBe(false);
  });
});

describe('rule definitions', () => {
  const scope = { provider: 'discord', tenant: 'demo', guild_id: '1100000000000000001' };

  it('require a threshold for semantic rules and only for them', () => {
    expect(() => parseRuleDefinition({ id: 'a', kind: 'semantic', pattern: 'hurt you' })).toThrow(/threshold/);
    expect(() => parseRuleDefinition({ id: 'a', kind: 'phrase', pattern: 'x', threshold: 0.5 })).toThrow(/threshold/);
    expect(parseRuleDefinition({ id: 'a', kind: 'semantic', pattern: 'hurt you', threshold: 0.5 })).toEqual({ id: 'a', kind: 'semantic', pattern: 'hurt you', threshold: 0.5, enabled: true });
  });

  it('name the field of a bad definition', () => {
    const err = (() => {
      try {
        parseRuleDefinition({ id: 'Bad Id', kind: 'phrase', pattern: 'x' });
      } catch (e) {
        return e as ModerationRuleError;
      }
      throw new Error('accepted');
    })();
    expect(err.path).toBe('rule.id');
    expect(() => parseRuleDefinition({ id: 'a', kind: 'phrase', pattern: 'x', extra: 1 })).toThrow(ModerationRuleError);
  });

  it('compile per kind and refuse a pathological regex at compile time', () => {
    expect(compileRule(scope, parseRuleDefinition({ id: 'p', kind: 'phrase', pattern: 'hear me' }), 'store').phrase?.words).toEqual(['hear', 'me']);
    expect(compileRule(scope, parseRuleDefinition({ id: 'r', kind: 'regex', pattern: 'x+' }), 'store').regex).toBeInstanceOf(RegExp);
    expect(() => compileRule(scope, parseRuleDefinition({ id: 'r', kind: 'regex', pattern: '(x+)+y' }), 'store', 'body')).toThrow(/body\.pattern/);
  });
});

describe('moderation.yml', () => {
  const good = `
version: 1
tenants:
  discord/demo:
    guilds:
      - id: "1100000000000000001"
        mod_log_channel: "1200000000000000009"
        rules:
          - { id: hear-me, kind: phrase, pattern: "hear me" }
          - { id: phone, kind: regex, pattern: '\\b\\d{3}-\\d{4}\\b', label: phone number }
          - { id: threat, kind: semantic, pattern: "I am going to hurt you", threshold: 0.7 }
`;

  it('reads guilds, mod-log channels and compiled rules', () => {
    const s = parseModerationConfig(good);
    const g = s.get('discord/demo/1100000000000000001')!;
    expect(g.mod_log_channel).toBe('1200000000000000009');
    expect(g.rules.map((r) => [r.def.id, r.source])).toEqual([['hear-me', 'config'], ['phone', 'config'], ['threat', 'config']]);
    expect(g.rules[1]!.regex!.test('call 555-1234')).toBe(true);
  });

  it('stops with bad_config naming the field and line: unquoted id, refused regex, duplicate rule, unknown key', () => {
    const expectBad = (text: string, where: RegExp) => {
      let err: unknown;
      try {
        parseModerationConfig(text);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PrometheanError);
      expect((err as PrometheanError).code).toBe('bad_config');
      expect((err as Error).message).toMatch(where);
    };
    expectBad(good.replace('"1100000000000000001"', '1100000000000000001'), /guilds\.0\.id: .*line 6/);
    expectBad(good.replace("'\\b\\d{3}-\\d{4}\\b'", "'(a+)+'"), /rules\.1\.pattern: .*catastrophic.*line/);
    expectBad(good.replace('id: phone', 'id: hear-me'), /rule hear-me appears twice/);
    expectBad(good.replace('mod_log_channel', 'modlog'), /guilds\.0\.modlog/);
  });

  it('an empty file is no rules', () => {
    expect(parseModerationConfig('').size).toBe(0);
    expect(parseModerationConfig('version: 1\n').size).toBe(0);
  });
});
