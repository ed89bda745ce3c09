import { describe, expect, it } from 'vitest';
import { EVIDENCE_MAX_LINES, fetchEvidenceTranscript, sidecarTranscript } from './evidence.ts';

const S = 1_000_000_000n;
const line = (segment_id: string, startS: number, endS: number, over: Record<string, unknown> = {}) => ({
  segment_id, speaker_id: '1300000000000000001', text: `said ${segment_id}`, start_ns: String(BigInt(startS * 10) * S / 10n), end_ns: String(BigInt(endS * 10) * S / 10n),
  lang: 'en', confidence: 0.9, transcribed_at: '2026-11-30T23:00:00.000Z', ...over,
});

/** A FAKE server (the console's unit tests run without one): answers the history route from a list, recording the paths asked. */
function FakeHistoryFetch(answer: (path: string) => Response) {
  const paths: string[] = [];
  const fetchFn = async (path: string) => {
    paths.push(path);
    return answer(path);
  };
  return { paths, fetchFn };
}

describe('sidecarTranscript', () => {
  it('keeps the lines overlapping [from, to) in session-clock order with only the sidecar fields', () => {
    const body = {
      session_id: 'g1-c1',
      truncated: false,
      lines: [line('later', 10, 11), line('before', 1, 2), line('ends-inside', 2, 3.5), line('at-end', 5, 6), line('inside', 3, 4), line('zero', 3, 3)],
    };
    const t = sidecarTranscript(body, 3n * S, 5n * S);
    expect(t.lines.map((l) => l.segment_id)).toEqual(['ends-inside', 'inside', 'zero']);
    expect(t.lines[0]).toEqual({ segment_id: 'ends-inside', speaker_id: '1300000000000000001', text: 'said ends-inside', start_ns: '2000000000', end_ns: '3500000000' });
    expect(t.truncated).toBe(false);
    expect(t.unavailable).toBeUndefined();
  });

  it('orders by the numeric clock, not as text (9 s before 10 s)', () => {
    const t = sidecarTranscript({ lines: [line('ten', 10, 10.5), line('nine', 9, 9.5)] }, 0n, 20n * S);
    expect(t.lines.map((l) => l.segment_id)).toEqual(['nine', 'ten']);
  });

  it('leaves out malformed lines and caps the count, passing truncated on', () => {
    const bad = [
      line('neg', 1, 2, { start_ns: '-1' }),
      line('float', 1, 2, { end_ns: '2.5' }),
      line('backwards', 1, 2, { start_ns: '3000000000', end_ns: '2000000000' }),
      line('', 1, 2),
      line('no-speaker', 1, 2, { speaker_id: 7 }),
      line('no-text', 1, 2, { text: null }),
      'not an object',
      null,
    ];
    expect(sidecarTranscript({ lines: [...bad, line('ok', 1, 2)], truncated: true }, 0n, 10n * S)).toEqual({
      lines: [{ segment_id: 'ok', speaker_id: '1300000000000000001', text: 'said ok', start_ns: '1000000000', end_ns: '2000000000' }],
      truncated: true,
    });
    const many = Array.from({ length: EVIDENCE_MAX_LINES + 5 }, (_, i) => line(`m${i}`, 1, 2));
    expect(sidecarTranscript({ lines: many }, 0n, 10n * S).lines).toHaveLength(EVIDENCE_MAX_LINES);
    expect(sidecarTranscript('nonsense', 0n, S)).toEqual({ lines: [], truncated: false });
  });
});

describe('fetchEvidenceTranscript', () => {
  it('asks the session history route for the clip span (id encoded, the sidecar limit) and maps its answer', async () => {
    const fake = FakeHistoryFetch(() => Response.json({ session_id: 'g 1/c', lines: [line('a', 1, 2)], truncated: false }));
    const t = await fetchEvidenceTranscript(fake.fetchFn, 'g 1/c', 1n * S, 3n * S);
    expect(fake.paths).toEqual([`/api/sessions/g%201%2Fc/transcripts?from_ns=1000000000&to_ns=3000000000&limit=${EVIDENCE_MAX_LINES}`]);
    expect(t.lines.map((l) => l.segment_id)).toEqual(['a']);
  });

  it('a refused or failed history leaves the sidecar without lines, saying why (the export itself goes on)', async () => {
    const refused = FakeHistoryFetch(() => Response.json({ error: { code: 'forbidden', message: 'this session is limited to guild 1' } }, { status: 403 }));
    expect(await fetchEvidenceTranscript(refused.fetchFn, 'g1-c1', 0n, S)).toEqual({ lines: [], truncated: false, unavailable: 'this session is limited to guild 1' });
    const down = { fetchFn: async () => Promise.reject(new TypeError('fetch failed')) };
    const t = await fetchEvidenceTranscript(down.fetchFn, 'g1-c1', 0n, S);
    expect(t.lines).toEqual([]);
    expect(t.unavailable).toMatch(/no answer from the server/);
  });
});
