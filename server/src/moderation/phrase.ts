/**
 * Exact-phrase matching that ignores case and diacritics and respects word boundaries: the phrase and
 * the transcript are cut into words (letters, digits and marks, with inner apostrophes), each word is
 * folded, and the phrase matches where its folded words appear consecutively. Punctuation and spaces
 * between words do not matter ("kill, yourself" matches "kill yourself"); a word never matches part of
 * a longer one ("hell" does not match "hello"). Written here rather than as a regular expression so
 * the folding (NFKD, marks removed, full case folding) and the offsets into the original text stay
 * exact, and so the match is linear in the text.
 */
import { ModerationRuleError } from './errors.ts';

/** A word of a text: UTF-16 offsets into the original and its folded form. */
export interface Word {
  start: number;
  end: number;
  folded: string;
}

const WORD_RE = /[\p{L}\p{N}\p{M}]+(?:['\u2019][\p{L}\p{N}\p{M}]+)*/gu;
const MARKS_RE = /\p{M}+/gu;

/** Most words a phrase may have. */
export const MAX_PHRASE_WORDS = 32;
/** Longest phrase in characters. */
export const MAX_PHRASE_LENGTH = 200;

/**
 * Case- and diacritic-insensitive form of a word: compatibility decomposition, combining marks removed,
 * then upper- and lower-cased so that characters whose case mapping expands (ß → SS → ss) fold alike.
 */
export function foldWord(word: string): string {
  return word.normalize('NFKD').replace(MARKS_RE, '').replace(/\u2019/g, "'").toUpperCase().toLowerCase();
}

/** The words of `text` with their offsets. */
export function words(text: string): Word[] {
  const out: Word[] = [];
  for (const m of text.matchAll(WORD_RE)) {
    const folded = foldWord(m[0]);
    if (folded.length > 0) out.push({ start: m.index, end: m.index + m[0].length, folded });
  }
  return out;
}

/** A compiled phrase: its folded words. */
export interface Phrase {
  readonly words: readonly string[];
}

/** Checks and compiles a phrase; ModerationRuleError when it is empty, too long or has no word. */
export function compilePhrase(phrase: string, path = 'pattern'): Phrase {
  if (typeof phrase !== 'string' || phrase.trim().length === 0) throw new ModerationRuleError(`${path}: a phrase must not be empty`, { path });
  if (phrase.length > MAX_PHRASE_LENGTH) throw new ModerationRuleError(`${path}: a phrase may have at most ${MAX_PHRASE_LENGTH} characters`, { path });
  const w = words(phrase).map((x) => x.folded);
  if (w.length === 0) throw new ModerationRuleError(`${path}: a phrase needs at least one word (letters or digits)`, { path });
  if (w.length > MAX_PHRASE_WORDS) throw new ModerationRuleError(`${path}: a phrase may have at most ${MAX_PHRASE_WORDS} words`, { path });
  return { words: w };
}

/** The first place the phrase occurs in `textWords` (from `words(text)`): UTF-16 offsets into the text. */
export function findPhrase(phrase: Phrase, textWords: readonly Word[]): { start: number; end: number } | undefined {
  const n = phrase.words.length;
  outer: for (let i = 0; i + n <= textWords.length; i++) {
    for (let j = 0; j < n; j++) if (textWords[i + j]!.folded !== phrase.words[j]) continue outer;
    return { start: textWords[i]!.start, end: textWords[i + n - 1]!.end };
  }
  return undefined;
}
