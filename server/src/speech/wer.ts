/**
 * Word error rate: word-level Levenshtein distance (substitutions + deletions + insertions) divided
 * by the number of reference words, after the same normalisation on both sides. Written here (a
 * dozen lines of dynamic programming) so the TypeScript tests and benchmarks need no Python; the
 * tests check it against jiwer, the usual reference implementation, in the speech environment.
 *
 * Normalisation: lower case; hyphens and slashes split words; other punctuation dropped (an
 * apostrophe inside a word stays: "don't"); whole numbers 0–99 spelled out ("10" → "ten"), because
 * Whisper writes digits where read-speech references spell them; the titles Mr, Mrs, Dr spelled out
 * ("Mr." → "mister"), as Whisper's own English normaliser does, for the same reason.
 */
const ONES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TITLES: Readonly<Record<string, string>> = { mr: 'mister', mrs: 'missus', dr: 'doctor' };
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];

function spell(n: number): string[] {
  if (n < 20) return [ONES[n]!];
  const t = TENS[Math.floor(n / 10)]!;
  return n % 10 === 0 ? [t] : [t, ONES[n % 10]!];
}

export function normalizeWords(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.toLowerCase().replace(/[-/]/g, ' ').split(/\s+/)) {
    const w = raw.replace(/[^\p{L}\p{N}']/gu, '').replace(/^'+|'+$/g, '');
    if (!w) continue;
    if (/^\d{1,2}$/.test(w)) out.push(...spell(Number(w)));
    else out.push(TITLES[w] ?? w);
  }
  return out;
}

/** Edit distance between two word sequences (two rows of the DP table). */
export function wordEdits(ref: readonly string[], hyp: readonly string[]): number {
  let prev = Array.from({ length: hyp.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ref.length; i++) {
    const row = [i];
    for (let j = 1; j <= hyp.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[hyp.length]!;
}

export interface WerResult {
  wer: number;
  edits: number;
  referenceWords: number;
}

/** WER over a corpus: total edits over total reference words (not the mean of per-utterance rates). */
export function wordErrorRate(pairs: ReadonlyArray<{ reference: string; hypothesis: string }>): WerResult {
  let edits = 0;
  let referenceWords = 0;
  for (const { reference, hypothesis } of pairs) {
    const ref = normalizeWords(reference);
    edits += wordEdits(ref, normalizeWords(hypothesis));
    referenceWords += ref.length;
  }
  return { wer: referenceWords === 0 ? 0 : edits / referenceWords, edits, referenceWords };
}
