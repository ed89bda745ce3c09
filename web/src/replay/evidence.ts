/**
 * Evidence clips: a span of one speaker's captured Opus frames, decoded (WebCodecs) to a WAV, hashed
 * (SHA-256), put on the server's audit log (`POST /api/evidence`, before the files are offered), and
 * described by a JSON sidecar. The audio never leaves the browser except as the moderator's download.
 * The sidecar also carries the session's final transcript lines that overlap the clip's span (from
 * `GET /api/sessions/:id/transcripts`), and the audit row records how many it carries.
 */
import { requestJson, type FetchLike } from '../net/http.ts';
import type { ReplayCapture } from './capture.ts';
import { decodeClip } from './decode.ts';
import { encodeWav16 } from './wav.ts';

export interface EvidenceSubject {
  tenant: string;
  session_id: string;
  guild_id: string;
  channel_id: string;
  user_id: string;
  speaker_name: string;
}

export interface EvidenceSidecar {
  kind: 'promethean.evidence';
  version: 1;
  tenant: string;
  guild_id: string;
  channel_id: string;
  session_id: string;
  speaker: { user_id: string; name: string };
  /** Session-clock ns (decimal strings), start inclusive, end exclusive. */
  session_clock: { start_ns: string; end_ns: string; source: 'receive' | 'relay' | null };
  utc: { start: string; end: string };
  audio: { file: string; format: 'wav'; sample_rate: number; channels: 1; bits: 16; bytes: number; sha256: string; opus_frames: number };
  exported_by: { actor: string; role: string; name?: string };
  exported_at: string;
  audit: { id: string; seq: string | null };
  /** What was said during the clip, by every speaker of the session (final lines, session-clock order). */
  transcript: EvidenceTranscript;
}

/** One final transcript line in a sidecar; times are session-clock ns (decimal strings), like `session_clock`. */
export interface EvidenceTranscriptLine {
  segment_id: string;
  speaker_id: string;
  text: string;
  start_ns: string;
  end_ns: string;
}

export interface EvidenceTranscript {
  lines: EvidenceTranscriptLine[];
  /** More lines overlapped the span than the sidecar holds (the latest {@link EVIDENCE_MAX_LINES} are kept). */
  truncated: boolean;
  /** Why there are no lines although there may be some (the history could not be read); absent when it was read. */
  unavailable?: string;
}

/** Lines a sidecar holds at most (the history route's own limit). */
export const EVIDENCE_MAX_LINES = 1000;

export interface EvidenceClip {
  wav: Uint8Array<ArrayBuffer>;
  sidecar: EvidenceSidecar;
}

/** `2026-11-30T23:00:00.000Z` for epoch ns. */
export function nsToIso(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString();
}

export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

const NS_RE = /^(0|[1-9][0-9]{0,18})$/;
const isStr = (v: unknown, max: number): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;

/** The route's answer checked line by line: a line without what the sidecar needs is left out. */
export function sidecarTranscript(body: unknown, fromNs: bigint, toNs: bigint): EvidenceTranscript {
  const b = (typeof body === 'object' && body !== null ? body : {}) as { lines?: unknown; truncated?: unknown };
  const lines: EvidenceTranscriptLine[] = [];
  for (const l of Array.isArray(b.lines) ? b.lines.slice(0, EVIDENCE_MAX_LINES) : []) {
    const r = (typeof l === 'object' && l !== null ? l : {}) as Record<string, unknown>;
    const { segment_id, speaker_id, text, start_ns, end_ns } = r;
    if (!isStr(segment_id, 128) || !isStr(speaker_id, 128) || typeof text !== 'string' || !isStr(start_ns, 20) || !isStr(end_ns, 20)) continue;
    if (!NS_RE.test(start_ns) || !NS_RE.test(end_ns)) continue;
    const start = BigInt(start_ns);
    const end = BigInt(end_ns);
    // Only lines overlapping [fromNs, toNs): the server filters already; this keeps the sidecar true to its span.
    if (end < start || start >= toNs || (end <= fromNs && start < fromNs)) continue;
    lines.push({ segment_id, speaker_id, text, start_ns, end_ns });
  }
  lines.sort((x, y) => {
    const a = BigInt(x.start_ns);
    const c = BigInt(y.start_ns);
    return a < c ? -1 : a > c ? 1 : x.segment_id < y.segment_id ? -1 : x.segment_id > y.segment_id ? 1 : 0;
  });
  return { lines, truncated: b.truncated === true };
}

/** The session's final lines overlapping the span; a failure leaves the sidecar without lines, saying why. */
export async function fetchEvidenceTranscript(fetchFn: FetchLike, sessionId: string, fromNs: bigint, toNs: bigint): Promise<EvidenceTranscript> {
  const q = new URLSearchParams({ from_ns: fromNs.toString(), to_ns: toNs.toString(), limit: String(EVIDENCE_MAX_LINES) });
  try {
    const body = await requestJson<unknown>(fetchFn, `/api/sessions/${encodeURIComponent(sessionId)}/transcripts?${q.toString()}`);
    return sidecarTranscript(body, fromNs, toNs);
  } catch (error) {
    return { lines: [], truncated: false, unavailable: (error as Error).message || 'the transcript history could not be read' };
  }
}

export async function buildEvidence(
  fetchFn: FetchLike,
  capture: ReplayCapture,
  subject: EvidenceSubject,
  fromNs: bigint,
  toNs: bigint,
  clockSource: EvidenceSidecar['session_clock']['source'],
): Promise<EvidenceClip> {
  const clip = await capture.clip(subject.user_id, fromNs, toNs);
  if (clip.frames.length === 0) throw new Error('nothing was captured from this speaker in that span');
  const decoded = await decodeClip(clip);
  const wav = encodeWav16(decoded.samples, decoded.sampleRate, 1);
  const sha256 = await sha256Hex(wav);
  const utc = { start: nsToIso(fromNs), end: nsToIso(toNs) };
  const transcript = await fetchEvidenceTranscript(fetchFn, subject.session_id, fromNs, toNs);
  const recorded = await requestJson<{ audit_id: string; seq: string | null; recorded_at: string; exported_by: EvidenceSidecar['exported_by'] }>(fetchFn, '/api/evidence', {
    method: 'POST',
    body: {
      session_id: subject.session_id,
      guild_id: subject.guild_id,
      channel_id: subject.channel_id,
      user_id: subject.user_id,
      speaker_name: subject.speaker_name,
      start_ns: fromNs.toString(),
      end_ns: toNs.toString(),
      utc_start: utc.start,
      utc_end: utc.end,
      sha256,
      bytes: wav.byteLength,
      format: 'wav',
      transcript_lines: transcript.lines.length,
    },
  });
  if (!recorded) throw new Error('the server did not confirm the export');
  const file = `evidence-${subject.user_id}-${utc.start.replace(/[:.]/g, '-')}.wav`;
  return {
    wav,
    sidecar: {
      kind: 'promethean.evidence',
      version: 1,
      tenant: subject.tenant,
      guild_id: subject.guild_id,
      channel_id: subject.channel_id,
      session_id: subject.session_id,
      speaker: { user_id: subject.user_id, name: subject.speaker_name },
      session_clock: { start_ns: fromNs.toString(), end_ns: toNs.toString(), source: clockSource },
      utc,
      audio: { file, format: 'wav', sample_rate: decoded.sampleRate, channels: 1, bits: 16, bytes: wav.byteLength, sha256, opus_frames: clip.frames.length },
      exported_by: recorded.exported_by,
      exported_at: recorded.recorded_at,
      audit: { id: recorded.audit_id, seq: recorded.seq },
      transcript,
    },
  };
}

/** Offers a file for download. */
export function download(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
