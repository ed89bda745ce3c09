import { describe, expect, it } from 'vitest';
import { inOrder, spellNumber, spokenWords } from './spoken-words.ts';

describe('spokenWords()', () => {
  it('spells numbers as they are said, digits or with thousands separators alike', () => {
    expect(spellNumber(0)).toEqual(['zero']);
    expect(spellNumber(7)).toEqual(['seven']);
    expect(spellNumber(40)).toEqual(['forty']);
    expect(spellNumber(115)).toEqual(['one', 'hundred', 'fifteen']);
    expect(spellNumber(1_000_001)).toEqual(['one', 'million', 'one']);
    // a speaker id the small LLM read out in a reply, and how Whisper wrote it back
    const said = spokenWords('Question from 1456074443980');
    expect(said).toEqual(['question', 'from', 'one', 'trillion', 'four', 'hundred', 'fifty', 'six', 'billion', 'seventy', 'four', 'million', 'four', 'hundred', 'forty', 'three', 'thousand', 'nine', 'hundred', 'eighty']);
    expect(spokenWords('Question from 1 trillion, 456 billion, 74 million, 443,980.')).toEqual(said);
  });

  it('ignores case and punctuation and expands common contractions', () => {
    expect(spokenWords("You're a Promethean, a bot.")).toEqual(spokenWords('you are a promethean a bot'));
    expect(spokenWords("It's blue; don't ask.")).toEqual(['it', 'is', 'blue', 'do', 'not', 'ask']);
  });

  it('leaves a digit run longer than 15 digits as it is (beyond exact doubles)', () => {
    expect(spokenWords('id 1234567890123456')).toEqual(['id', '1234567890123456']);
  });
});

describe('inOrder()', () => {
  it('counts the said words heard in the same order, each repeat on its own', () => {
    const said = spokenWords('a model of the sky. a model of the sky.');
    expect(inOrder(said, spokenWords('a model of the sky. a model of the sky. a model of the sky.'))).toBe(said.length);
    expect(inOrder(said, spokenWords('a model of the sky.'))).toBe(said.length / 2);
    expect(inOrder(['blue', 'sky', 'today'], ['today', 'sky', 'blue'])).toBe(1);
    expect(inOrder(['blue', 'sky', 'today'], ['blue', 'grey', 'today'])).toBe(2);
    expect(inOrder(said, [])).toBe(0);
    expect(inOrder([], said)).toBe(0);
  });
});
