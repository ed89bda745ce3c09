/**
 * From a match's character offsets to the monotonic clock: the transcript's words (offsets in ms from
 * the segment's start) are found in the text in order, and the span runs from the first overlapping
 * word's start to the last one's end. Without word timing (or when no word overlaps) the span is the
 * whole segment. The clip is the span padded on both sides, within the segment and at most `maxMs`.
 */
import type { TranscriptSegment } from '@promethean/shared';

export interface NsSpan {
  start_ns: bigint;
  end_ns: bigint;
}

const MS = 1_000_000n;

function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms * 1_000_000));
}

/** The monotonic span of characters `[start, end)` of the segment's text. */
export function timeSpan(segment: Pick<TranscriptSegment, 'text' | 'ts_start_ns' | 'ts_end_ns' | 'words'>, start: number, end: number): NsSpan {
  const s0 = BigInt(segment.ts_start_ns);
  const s1 = BigInt(segment.ts_end_ns);
  const whole = { start_ns: s0, end_ns: s1 };
  if (!segment.words || segment.words.length === 0) return whole;
  const lower = segment.text.toLowerCase();
  let cursor = 0;
  let first: number | undefined;
  let last: number | undefined;
  for (const w of segment.words) {
    const token = w.word.trim().toLowerCase();
    if (token.length === 0) continue;
    const at = lower.indexOf(token, cursor);
    if (at < 0) continue;
    cursor = at + token.length;
    if (at < end && at + token.length > start) {
      first ??= w.start_ms;
      last = Math.max(last ?? w.end_ms, w.end_ms);
    }
  }
  if (first === undefined || last === undefined) return whole;
  const a = s0 + msToNs(first);
  const b = s0 + msToNs(last);
  const start_ns = a < s0 ? s0 : a > s1 ? s1 : a;
  const end_ns = b > s1 ? s1 : b < start_ns ? start_ns : b;
  return { start_ns, end_ns };
}

/** The span padded by `padMs` each side, clamped to the segment, and cut to at most `maxMs` around the span's start. */
export function clipSpan(span: NsSpan, segment: NsSpan, padMs: number, maxMs: number): NsSpan {
  const pad = BigInt(Math.round(padMs)) * MS;
  let start = span.start_ns - pad;
  let end = span.end_ns + pad;
  if (start < segment.start_ns) start = segment.start_ns;
  if (end > segment.end_ns) end = segment.end_ns;
  const max = BigInt(Math.round(maxMs)) * MS;
  if (end - start > max) end = start + max;
  return { start_ns: start, end_ns: end };
}
