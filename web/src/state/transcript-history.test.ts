import { describe, expect, it } from 'vitest';
import { parseEnvelope } from '@promethean/shared';
import type { BusEnvelope } from '../net/bus.ts';
import { createTranscriptHistory, historyEnvelopes } from './transcript-history.ts';
import { createTranscripts } from './transcripts.ts';

const ALICE = '278993410011578368';
const BOB = '301182918822395904';
const SESSION = { session_id: 'g1-c1', provider: 'discord', tenant: 'demo' };

/** A history line as `GET /api/sessions/:id/transcripts` answers it. */
const hline = (segment_id: string, speaker_id: string, startS: number, text = `said ${segment_id}`) => ({
  segment_id, speaker_id, text, start_ns: `${startS}000000000`, end_ns: `${startS}500000000`, lang: 'en', confidence: 0.8, transcribed_at: '2026-11-30T12:00:10.000Z',
});

/** A live transcript envelope as the STT worker sends it, checked against the shared schema. */
function live(segment_id: string, startS: number, final: boolean, text: string): BusEnvelope {
  const env = {
    id: `0192f3a0-0000-7000-8000-${segment_id.padStart(12, '0')}`, ts: '2026-11-30T12:00:20.000Z', src: 'stt', dst: 'promethean.p.discord.t.demo.duck.transcript.segment',
    provider: 'discord', tenant: 'demo', intent: 'duck.transcript.segment',
    payload: { session_id: 'g1-c1', segment_id, speaker: ALICE, text, ts_start_ns: `${startS}000000000`, ts_end_ns: `${startS}500000000`, confidence: 0.9, tokens: 2, latency_ms: 300, final },
  };
  parseEnvelope(structuredClone(env));
  return env;
}

/** A FAKE server (the console's unit tests run without one): answers the history route, recording the paths asked. */
function FakeHistoryServer(answer: () => Response) {
  const paths: string[] = [];
  return { paths, fetchFn: async (path: string) => (paths.push(path), answer()) };
}

describe('historyEnvelopes', () => {
  it('turns route lines into final transcript envelopes the shared schema accepts', () => {
    const envs = historyEnvelopes(SESSION, { session_id: 'g1-c1', lines: [hline('1', ALICE, 3)], truncated: false });
    expect(envs).toHaveLength(1);
    // Checked against the shared envelope schema, as the hub checks a live one (the ids are local, not UUIDs).
    const env = { ...envs[0]!, id: '0192f3a0-0000-7000-8000-000000000001', src: 'server', dst: 'promethean.p.discord.t.demo.duck.transcript.segment' };
    expect(() => parseEnvelope(structuredClone(env))).not.toThrow();
    expect(envs[0]!.payload).toMatchObject({ session_id: 'g1-c1', segment_id: '1', speaker: ALICE, final: true, ts_start_ns: '3000000000', language: 'en' });
    expect(historyEnvelopes(SESSION, { lines: 'nope' })).toEqual([]);
    expect(historyEnvelopes(SESSION, null)).toEqual([]);
  });
});

describe('createTranscriptHistory', () => {
  it('loads a session once, merges with live lines by segment id, and keeps the session-clock order', async () => {
    const model = createTranscripts();
    // A live final arrived before the page asked for the history, which also lists it.
    model.receive(live('2', 5, true, 'said 2 live'), 1);
    const server = FakeHistoryServer(() => Response.json({ session_id: 'g1-c1', lines: [hline('1', BOB, 4), hline('2', ALICE, 5, 'said 2')], truncated: false }));
    const history = createTranscriptHistory(server.fetchFn, model, { limit: 50 });
    expect(await history.load(SESSION)).toBe(1);
    expect(server.paths).toEqual(['/api/sessions/g1-c1/transcripts?limit=50']);
    const lines = model.state.value.sessions['g1-c1']!.lines;
    expect(lines.map((l) => [l.segment_id, l.speaker])).toEqual([['1', BOB], ['2', ALICE]]);
    // Opening the session again does not ask again.
    expect(await history.load(SESSION)).toBe(0);
    expect(server.paths).toHaveLength(1);
    // A late partial of a segment the history holds as final changes nothing; a new live line follows.
    expect(model.receive(live('1', 4, false, 'sai'), 2)).toBe('late_partial');
    expect(model.receive(live('3', 6, true, 'said 3'), 3)).toBe('added');
    expect(model.state.value.sessions['g1-c1']!.lines.map((l) => l.segment_id)).toEqual(['1', '2', '3']);
  });

  it('a refused request throws the route’s error and the session can be loaded again', async () => {
    const model = createTranscripts();
    let refuse = true;
    const server = FakeHistoryServer(() => (refuse
      ? Response.json({ error: { code: 'forbidden', message: 'this session is limited to guild 1' } }, { status: 403 })
      : Response.json({ lines: [hline('1', ALICE, 1)], truncated: false })));
    const history = createTranscriptHistory(server.fetchFn, model);
    await expect(history.load(SESSION)).rejects.toMatchObject({ code: 'forbidden', status: 403 });
    refuse = false;
    expect(await history.load(SESSION)).toBe(1);
    expect(server.paths).toEqual(['/api/sessions/g1-c1/transcripts?limit=200', '/api/sessions/g1-c1/transcripts?limit=200']);
  });

  it('counts a malformed history line as the reducer does a bad payload, adding nothing for it', async () => {
    const model = createTranscripts();
    const server = FakeHistoryServer(() => Response.json({ lines: [{ segment_id: 'x', speaker_id: ALICE, text: 'no times' }, hline('ok', ALICE, 1)] }));
    expect(await createTranscriptHistory(server.fetchFn, model).load(SESSION)).toBe(1);
    expect(model.counters.outcomes.bad_payload).toBe(1);
  });
});
