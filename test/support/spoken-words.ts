/**
 * Comparing what a bot said with what a recogniser heard in its recording: the words of both texts,
 * normalised alike, and how many of the said words were heard in order.
 */
import { normalizeWords } from '../../server/src/speech/wer.ts';

const ONES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
const SCALES: Array<[number, string]> = [[1e12, 'trillion'], [1e9, 'billion'], [1e6, 'million'], [1e3, 'thousand'], [1, '']];

/** An integer below 10^15 in English words ("456" → four hundred fifty six). */
export function spellNumber(n: number): string[] {
  if (n === 0) return ['zero'];
  const out: string[] = [];
  for (const [scale, name] of SCALES) {
    let k = Math.floor(n / scale) % 1000;
    if (k === 0) continue;
    if (k >= 100) out.push(ONES[Math.floor(k / 100)]!, 'hundred');
    k %= 100;
    if (k >= 20) out.push(TENS[Math.floor(k / 10)]!, ...(k % 10 ? [ONES[k % 10]!] : []));
    else if (k > 0) out.push(ONES[k]!);
    if (name) out.push(name);
  }
  return out;
}

const CONTRACTIONS: Record<string, string[]> = {
  "you're": ['you', 'are'], "we're": ['we', 'are'], "they're": ['they', 'are'], "i'm": ['i', 'am'], "it's": ['it', 'is'],
  "that's": ['that', 'is'], "what's": ['what', 'is'], "there's": ['there', 'is'], "isn't": ['is', 'not'], "don't": ['do', 'not'],
  "doesn't": ['does', 'not'], "can't": ['can', 'not'], "won't": ['will', 'not'], "i'll": ['i', 'will'], "you'll": ['you', 'will'],
};

/**
 * The words of a text for comparing what was said with what was heard: the project's WER
 * normalisation (case, punctuation, small numbers spelled) plus what the recogniser writes
 * differently from how the reply was typed: numbers in digits (with thousands separators, as
 * "1 trillion, 456 billion") spelled out the same way on both sides, and common contractions expanded.
 */
export function spokenWords(text: string): string[] {
  const spelled = text.replace(/(\d),(?=\d{3}\b)/g, '$1').replace(/\d+/g, (d) => (d.length <= 15 ? ` ${spellNumber(Number(d)).join(' ')} ` : d));
  return normalizeWords(spelled).flatMap((w) => CONTRACTIONS[w] ?? [w]);
}

/**
 * How many of `said`'s words `heard` holds in the same order (longest common subsequence). Not a
 * set: the small LLM repeats phrases, and a set would count a repeated word once however often the
 * recording dropped it.
 */
export function inOrder(said: readonly string[], heard: readonly string[]): number {
  let prev = new Array<number>(heard.length + 1).fill(0);
  for (const w of said) {
    const row = [0];
    for (let j = 1; j <= heard.length; j++) row[j] = w === heard[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, row[j - 1]!);
    prev = row;
  }
  return prev[heard.length]!;
}
