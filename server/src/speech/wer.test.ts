import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normalizeWords, wordEdits, wordErrorRate } from './wer.ts';

/** Word error rates computed by jiwer (speech/tools/wer_reference.py) for pseudo-random edits. */
const REFERENCE = JSON.parse(readFileSync(new URL('../../../test/fixtures/speech/wer-reference.json', import.meta.url), 'utf8')) as {
  corpus_wer: number;
  cases: Array<{ reference: string; hypothesis: string; wer: number; edits: number }>;
};

describe('wordErrorRate', () => {
  it('matches jiwer on every reference case, and on the corpus', () => {
    expect(REFERENCE.cases.length).toBeGreaterThanOrEqual(50);
    for (const c of REFERENCE.cases) {
      const r = wordErrorRate([{ reference: c.reference, hypothesis: c.hypothesis }]);
      expect(r.edits).toBe(c.edits);
      expect(r.wer).toBeCloseTo(c.wer, 12);
    }
    expect(wordErrorRate(REFERENCE.cases).wer).toBeCloseTo(REFERENCE.corpus_wer, 12);
  });

  it('normalizeWords() drops case and punctuation, keeps apostrophes inside words, spells 0–99 and Mr/Mrs/Dr', () => {
    expect(normalizeWords('And so, my fellow Americans: ask NOT!')).toEqual(['and', 'so', 'my', 'fellow', 'americans', 'ask', 'not']);
    expect(normalizeWords("Don't stop -- 'quoted' words")).toEqual(["don't", 'stop', 'quoted', 'words']);
    expect(normalizeWords('10 of clubs, 4 queen, 42 and 7-up')).toEqual(['ten', 'of', 'clubs', 'four', 'queen', 'forty', 'two', 'and', 'seven', 'up']);
    expect(normalizeWords('  ...  ')).toEqual([]);
    expect(normalizeWords('Mr. John and Mrs. Dashwood met Dr. Who')).toEqual(['mister', 'john', 'and', 'missus', 'dashwood', 'met', 'doctor', 'who']);
  });

  it('wordEdits() counts substitutions, deletions and insertions', () => {
    expect(wordEdits(['a', 'b', 'c'], ['a', 'b', 'c'])).toBe(0);
    expect(wordEdits(['a', 'b', 'c'], ['a', 'x', 'c'])).toBe(1);
    expect(wordEdits(['a', 'b', 'c'], ['a', 'c'])).toBe(1);
    expect(wordEdits(['a', 'b'], ['a', 'b', 'c', 'd'])).toBe(2);
    expect(wordEdits([], ['a'])).toBe(1);
    expect(wordEdits(['a'], [])).toBe(1);
  });

  it('an empty reference has WER 0, and punctuation alone costs nothing', () => {
    expect(wordErrorRate([{ reference: '', hypothesis: '' }]).wer).toBe(0);
    expect(wordErrorRate([{ reference: 'Ask not.', hypothesis: 'ask, not' }]).wer).toBe(0);
  });
});
