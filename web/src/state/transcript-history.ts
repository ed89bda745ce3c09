/**
 * The transcript history of a session, loaded once when the moderator opens it
 * (`GET /api/sessions/:id/transcripts`: the newest final lines, in session-clock order), so the
 * scrolling transcript shows what was said before the page loaded; live lines then continue. Each
 * history line goes through the same reducer as a live `duck.transcript.segment`, keyed
 * `session_id:segment_id`, so a line that is both in the history and on the bus appears once, and a
 * late partial never replaces a final from the history.
 */
import type { FetchLike } from '../net/http.ts';
import { requestJson } from '../net/http.ts';
import type { BusEnvelope } from '../net/bus.ts';
import { TRANSCRIPT_INTENT, type TranscriptModel } from './transcripts.ts';

export interface TranscriptHistoryOptions {
  /** Lines asked for per session (the route's default is 200, its maximum 1,000). */
  limit: number;
  /** Sessions remembered as loaded (the oldest are forgotten, and load again when reopened). */
  maxSessions: number;
}

export const defaultTranscriptHistoryOptions: TranscriptHistoryOptions = { limit: 200, maxSessions: 64 };

/** The session a history belongs to, as the roster knows it. */
export interface HistorySession {
  session_id: string;
  provider: string;
  tenant: string;
}

/** One history line as the route answers it. */
interface HistoryLine {
  segment_id: string;
  speaker_id: string;
  text: string;
  start_ns: string;
  end_ns: string;
  lang?: string | null;
  confidence?: number | null;
  transcribed_at?: string;
}

/**
 * The route's lines as transcript envelopes (final, no latency: `transcribed_at` stands for when it
 * was published). Anything that is not an object with a lines array gives none; the reducer checks
 * each line's fields as it checks a live payload.
 */
export function historyEnvelopes(session: HistorySession, body: unknown): BusEnvelope[] {
  const lines = (typeof body === 'object' && body !== null ? (body as { lines?: unknown }).lines : undefined) ?? [];
  if (!Array.isArray(lines)) return [];
  return lines.map((raw, i) => {
    const l = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<HistoryLine>;
    return {
      id: `history:${session.session_id}:${i}`,
      ts: typeof l.transcribed_at === 'string' ? l.transcribed_at : '',
      src: 'history',
      dst: '',
      provider: session.provider,
      tenant: session.tenant,
      intent: TRANSCRIPT_INTENT,
      payload: {
        session_id: session.session_id,
        segment_id: l.segment_id,
        speaker: l.speaker_id,
        text: l.text,
        final: true,
        ts_start_ns: l.start_ns,
        ts_end_ns: l.end_ns,
        confidence: typeof l.confidence === 'number' ? l.confidence : 0,
        // The STT worker's tokens are the words; the history does not carry them, so they are counted again.
        tokens: typeof l.text === 'string' ? l.text.split(/\s+/).filter(Boolean).length : 0,
        ...(typeof l.lang === 'string' ? { language: l.lang } : {}),
        latency_ms: 0,
      },
    };
  });
}

export interface TranscriptHistory {
  /**
   * Loads a session's history into the model once (a second call for the same session does nothing
   * and resolves with 0); resolves with how many lines were added. A failure is thrown and the
   * session may be loaded again.
   */
  load(session: HistorySession): Promise<number>;
}

export function createTranscriptHistory(fetchFn: FetchLike, model: TranscriptModel, options: Partial<TranscriptHistoryOptions> = {}): TranscriptHistory {
  const o: TranscriptHistoryOptions = { ...defaultTranscriptHistoryOptions, ...options };
  /** Loaded or loading, in the order first asked. */
  const loaded = new Set<string>();
  return {
    async load(session) {
      if (loaded.has(session.session_id)) return 0;
      loaded.add(session.session_id);
      while (loaded.size > o.maxSessions) loaded.delete(loaded.values().next().value!);
      let body: unknown;
      try {
        body = await requestJson<unknown>(fetchFn, `/api/sessions/${encodeURIComponent(session.session_id)}/transcripts?limit=${o.limit}`);
      } catch (error) {
        loaded.delete(session.session_id);
        throw error;
      }
      let added = 0;
      const now = Date.now();
      for (const env of historyEnvelopes(session, body)) if (model.receive(env, now) === 'added') added++;
      return added;
    },
  };
}
