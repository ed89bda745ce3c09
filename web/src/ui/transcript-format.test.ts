import { describe, expect, it } from 'vitest';
import { isoOf, splitHighlight } from './transcript-format.ts';

const marked = (text: string, phrase: string) => splitHighlight(text, phrase).map((p) => (p.match ? `[${p.text}]` : p.text)).join('');

describe('splitHighlight', () => {
  it('marks every case-insensitive occurrence and keeps the rest of the text as is', () => {
    expect(marked('The bike was stolen; my BIKE was stolen too', 'bike was stolen')).toBe('The [bike was stolen]; my [BIKE was stolen] too');
    expect(splitHighlight('The bike was stolen', 'bike').map((p) => p.text).join('')).toBe('The bike was stolen');
  });

  it('lets any whitespace in the text match a space of the phrase, like the phrase search', () => {
    expect(marked('bike  was\nstolen', ' bike was   stolen ')).toBe('[bike  was\nstolen]');
  });

  it('treats the phrase literally (no pattern characters) and handles empty input', () => {
    expect(marked('a.b a*b (x)', 'a*b')).toBe('a.b [a*b] (x)');
    expect(marked('cost $5 (net)', '$5 (net)')).toBe('cost [$5 (net)]');
    expect(splitHighlight('text', '   ')).toEqual([{ text: 'text', match: false }]);
    expect(splitHighlight('', 'x')).toEqual([]);
  });
});

describe('isoOf', () => {
  it('gives the datetime attribute, empty for a non-finite time', () => {
    expect(isoOf(Date.UTC(2026, 10, 30, 12, 0, 6, 700))).toBe('2026-11-30T12:00:06.700Z');
    expect(isoOf(Number.NaN)).toBe('');
  });
});
