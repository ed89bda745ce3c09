/**
 * Recent transcript lines per voice session (one session is one voice channel), built from
 * `duck.transcript.segment` envelopes: a bounded store for the captions under each speaker, the
 * scrolling transcript and the console's own phrase search. The reducer is pure and defensive like
 * the roster's: a payload without the fields it needs is ignored (and counted by the model); the
 * hub has already checked the envelope against the shared schema, so this only guards the console.
 *
 * - A line's key is `session_id:segment_id` (the STT worker's idempotency key): a partial
 *   (`final: false`) is replaced by the next partial or the final of the same segment; a partial
 *   arriving after its final is ignored.
 * - Lines are ordered by `ts_start_ns` (the session's monotonic clock), never by wall clock.
 * - Bounded: at most `maxLinesPerSession` lines per session (the oldest go), `maxSessions` sessions
 *   (the least recently updated go), `maxTextChars` characters per line.
 */
import { signal, type Signal } from '@preact/signals';
import type { PayloadOf } from '@promethean/shared';
import type { BusEnvelope } from '../net/bus.ts';

export const TRANSCRIPT_INTENT = 'duck.transcript.segment';

export type TranscriptPayload = PayloadOf<'duck.transcript.segment'>;

export interface TranscriptLine {
  /** `session_id:segment_id`. */
  key: string;
  session_id: string;
  segment_id: string;
  /** The speaker's user id. */
  speaker: string;
  text: string;
  /** False while the recogniser may still revise it. */
  final: boolean;
  /** Monotonic ns of the segment's first and last sample, as the envelope carried them. */
  ts_start_ns: string;
  ts_end_ns: string;
  /**
   * When the words were spoken (ms since the epoch), estimated from the envelope's `ts` (when the
   * transcript was published) minus `latency_ms` and the segment's length. For display only.
   */
  spoken_at: number;
  confidence: number;
  language: string | null;
  /** Local time (ms) this line last changed. */
  updated_at: number;
  /** Partials seen before this version (0 for the first). */
  revision: number;
}

export interface SessionTranscript {
  session_id: string;
  provider: string;
  tenant: string;
  /** Oldest first, by `ts_start_ns` (then segment id). */
  lines: readonly TranscriptLine[];
  /** Local time (ms) of the last change. */
  updated_at: number;
}

export interface TranscriptState {
  sessions: Readonly<Record<string, SessionTranscript>>;
}

export const emptyTranscripts: TranscriptState = { sessions: {} };

export interface TranscriptLimits {
  /** Lines kept per session; beyond it the oldest (by monotonic start) go. */
  maxLinesPerSession: number;
  /** Sessions kept; beyond it the least recently updated goes. */
  maxSessions: number;
  /** Characters kept of one line's text (the schema allows 20,000). */
  maxTextChars: number;
}

export const defaultTranscriptLimits: TranscriptLimits = {
  maxLinesPerSession: 500,
  maxSessions: 32,
  maxTextChars: 2000,
};

/** What one envelope did: counted by the model, asserted by tests. */
export type TranscriptOutcome =
  | 'added'
  | 'replaced'
  | 'not_transcript'
  | 'bad_payload'
  | 'late_partial'
  | 'too_old';

export interface ApplyResult {
  state: TranscriptState;
  outcome: TranscriptOutcome;
  /** Lines or sessions dropped to stay within the limits. */
  evicted: number;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const ID = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 128;
const NS = /^(0|[1-9][0-9]{0,38})$/;

/** Compares two lines by monotonic start, then segment id (a stable order for equal starts). */
function compareLines(a: TranscriptLine, b: TranscriptLine): number {
  const sa = BigInt(a.ts_start_ns);
  const sb = BigInt(b.ts_start_ns);
  if (sa !== sb) return sa < sb ? -1 : 1;
  return a.segment_id < b.segment_id ? -1 : a.segment_id > b.segment_id ? 1 : 0;
}

/** Estimated wall time of the segment's start; `fallback` when the envelope's ts is unreadable. */
export function spokenAt(envelopeTs: string, latencyMs: number, startNs: string, endNs: string, fallback: number): number {
  const published = Date.parse(envelopeTs);
  if (!Number.isFinite(published)) return fallback;
  const lengthMs = Number((BigInt(endNs) - BigInt(startNs)) / 1_000_000n);
  return published - Math.max(0, latencyMs) - Math.max(0, lengthMs);
}

/** The payload fields the console needs, or undefined when any is missing or malformed. */
function readPayload(p: unknown, maxTextChars: number): Omit<TranscriptLine, 'key' | 'spoken_at' | 'updated_at' | 'revision'> & { latency_ms: number } | undefined {
  if (!isObj(p)) return undefined;
  const { session_id, segment_id, speaker, text, ts_start_ns, ts_end_ns } = p;
  if (!ID(session_id) || !ID(segment_id) || !ID(speaker) || typeof text !== 'string') return undefined;
  if (typeof ts_start_ns !== 'string' || typeof ts_end_ns !== 'string' || !NS.test(ts_start_ns) || !NS.test(ts_end_ns)) return undefined;
  if (BigInt(ts_end_ns) < BigInt(ts_start_ns)) return undefined;
  const confidence = typeof p.confidence === 'number' && p.confidence >= 0 && p.confidence <= 1 ? p.confidence : 0;
  const latency_ms = typeof p.latency_ms === 'number' && Number.isFinite(p.latency_ms) ? p.latency_ms : 0;
  const trimmed = text.trim();
  return {
    session_id,
    segment_id,
    speaker,
    text: trimmed.length > maxTextChars ? `${trimmed.slice(0, maxTextChars - 1)}…` : trimmed,
    // The schema's default: absent means final.
    final: p.final !== false,
    ts_start_ns,
    ts_end_ns,
    confidence,
    language: typeof p.language === 'string' ? p.language : null,
    latency_ms,
  };
}

/** Applies one bus envelope; returns the same state object when nothing changed. */
export function applyTranscript(state: TranscriptState, env: BusEnvelope, now: number, limits: TranscriptLimits = defaultTranscriptLimits): ApplyResult {
  if (env.intent !== TRANSCRIPT_INTENT) return { state, outcome: 'not_transcript', evicted: 0 };
  const p = readPayload(env.payload, limits.maxTextChars);
  if (!p) return { state, outcome: 'bad_payload', evicted: 0 };
  const { latency_ms, ...fields } = p;
  const key = `${p.session_id}:${p.segment_id}`;
  const old = state.sessions[p.session_id];
  const lines = old ? [...old.lines] : [];
  const at = lines.findIndex((l) => l.key === key);
  const prev = at >= 0 ? lines[at]! : undefined;
  if (prev?.final && !p.final) return { state, outcome: 'late_partial', evicted: 0 };
  const line: TranscriptLine = {
    ...fields,
    key,
    spoken_at: spokenAt(env.ts, latency_ms, p.ts_start_ns, p.ts_end_ns, now),
    updated_at: now,
    revision: prev ? prev.revision + 1 : 0,
  };
  let evicted = 0;
  if (prev) lines.splice(at, 1);
  else if (lines.length >= limits.maxLinesPerSession && compareLines(line, lines[0]!) < 0) {
    // Full, and older than everything kept: it would be evicted at once.
    return { state, outcome: 'too_old', evicted: 0 };
  }
  // Lines mostly arrive in order: look for the place from the end.
  let i = lines.length;
  while (i > 0 && compareLines(lines[i - 1]!, line) > 0) i--;
  lines.splice(i, 0, line);
  while (lines.length > limits.maxLinesPerSession) {
    lines.shift();
    evicted++;
  }
  const session: SessionTranscript = { session_id: p.session_id, provider: env.provider, tenant: env.tenant, lines, updated_at: now };
  let sessions: Record<string, SessionTranscript> = { ...state.sessions, [p.session_id]: session };
  const ids = Object.keys(sessions);
  if (ids.length > limits.maxSessions) {
    const keep = ids.sort((a, b) => sessions[b]!.updated_at - sessions[a]!.updated_at).slice(0, limits.maxSessions);
    evicted += ids.length - keep.length;
    sessions = Object.fromEntries(keep.map((id) => [id, sessions[id]!]));
  }
  return { state: { sessions }, outcome: prev ? 'replaced' : 'added', evicted };
}

/**
 * The caption of each speaker of a session: their line that started last (a partial while it is
 * being recognised), if it changed within `holdMs` of `now`.
 */
export function captionsOf(t: SessionTranscript | undefined, now: number, holdMs: number): Readonly<Record<string, TranscriptLine>> {
  const out: Record<string, TranscriptLine> = {};
  if (!t) return out;
  for (const line of t.lines) {
    if (line.text.length === 0 || now - line.updated_at > holdMs) continue;
    // Lines are in start order: a later one replaces an earlier one of the same speaker.
    out[line.speaker] = line;
  }
  return out;
}

/** Collapses runs of whitespace and lower-cases, so a phrase matches across line breaks and case. */
export function normalizePhrase(s: string): string {
  return s.trim().replace(/\s+/g, ' ').toLocaleLowerCase();
}

/**
 * Exact-phrase search over the kept lines (case-insensitive, whitespace-normalised), newest first;
 * only the sessions in `sessionIds` (every session when null). Partials are searched too: they are
 * what the moderator sees.
 */
export function searchTranscripts(state: TranscriptState, phrase: string, sessionIds: readonly string[] | null, limit = 50): TranscriptLine[] {
  const needle = normalizePhrase(phrase);
  if (needle.length === 0) return [];
  const hits: TranscriptLine[] = [];
  for (const [id, t] of Object.entries(state.sessions)) {
    if (sessionIds && !sessionIds.includes(id)) continue;
    for (const line of t.lines) if (normalizePhrase(line.text).includes(needle)) hits.push(line);
  }
  return hits.sort((a, b) => b.spoken_at - a.spoken_at || -compareLines(a, b)).slice(0, limit);
}

export interface TranscriptCounters {
  /** Envelopes by outcome. */
  outcomes: Record<TranscriptOutcome, number>;
  evicted: number;
}

export interface TranscriptModel {
  state: Signal<TranscriptState>;
  counters: Readonly<TranscriptCounters>;
  /** Feeds one bus envelope (any intent; others are ignored). */
  receive(env: BusEnvelope, now: number): TranscriptOutcome;
}

/** Where the console model carries its transcripts (absent where the console runs without them). */
export interface TranscriptsHost {
  transcripts?: TranscriptModel;
}

export function createTranscripts(limits: Partial<TranscriptLimits> = {}): TranscriptModel {
  const l: TranscriptLimits = { ...defaultTranscriptLimits, ...limits };
  const state = signal<TranscriptState>(emptyTranscripts);
  const counters: TranscriptCounters = {
    outcomes: { added: 0, replaced: 0, not_transcript: 0, bad_payload: 0, late_partial: 0, too_old: 0 },
    evicted: 0,
  };
  return {
    state,
    counters,
    receive(env, now) {
      const r = applyTranscript(state.peek(), env, now, l);
      counters.outcomes[r.outcome]++;
      counters.evicted += r.evicted;
      if (r.state !== state.peek()) state.value = r.state;
      return r.outcome;
    },
  };
}
