/** Small pure helpers for captions, the transcript and search results: highlighting and times. */

export interface TextPart {
  text: string;
  /** This part matches the phrase. */
  match: boolean;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Splits `text` into parts, marking every occurrence of `phrase` (case-insensitive, any run of
 * whitespace in the text matching a space in the phrase: the rule of the console's transcript search).
 */
export function splitHighlight(text: string, phrase: string): TextPart[] {
  const words = phrase.trim().split(/\s+/u).filter(Boolean);
  if (words.length === 0 || text.length === 0) return text.length === 0 ? [] : [{ text, match: false }];
  const re = new RegExp(words.map(escape).join('\\s+'), 'giu');
  const parts: TextPart[] = [];
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m[0].length === 0) continue;
    const at = m.index;
    if (at > last) parts.push({ text: text.slice(last, at), match: false });
    parts.push({ text: m[0], match: true });
    last = at + m[0].length;
  }
  if (last < text.length) parts.push({ text: text.slice(last), match: false });
  return parts;
}

/** `HH:MM:SS` in the browser's time zone, 24-hour. */
export function formatClock(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

/** Date and time for search results (older than today's transcript). */
export function formatDateTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

/** ISO 8601 for a `<time datetime>` attribute. */
export function isoOf(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : '';
}
