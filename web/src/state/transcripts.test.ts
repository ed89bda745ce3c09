import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseEnvelope } from '@promethean/shared';
import type { BusEnvelope } from '../net/bus.ts';
import {
  applyTranscript,
  captionsOf,
  createTranscripts,
  emptyTranscripts,
  searchTranscripts,
  spokenAt,
  type TranscriptLimits,
  type TranscriptState,
} from './transcripts.ts';

const ALICE = '278993410011578368';
const BOB = '301182918822395904';
const GOLDEN = new URL('../../../shared/fixtures/golden/duck.transcript.segment.in.json', import.meta.url);

let seq = 0;
/**
 * A transcript envelope as the STT worker sends it, checked against the shared schema (so the
 * test feeds only what the hub would let through, except where a test says otherwise).
 */
function seg(over: Record<string, unknown>, ts = '2026-11-30T12:00:10.000Z', session_id = 'v1'): BusEnvelope {
  seq++;
  const payload = {
    session_id, segment_id: `s${seq}`, speaker: ALICE, text: 'hello there', ts_start_ns: '1000000000', ts_end_ns: '2000000000',
    confidence: 0.9, tokens: 2, latency_ms: 300, final: true, ...over,
  };
  const env = { id: `0192f3a0-0000-7000-8000-${String(seq).padStart(12, '0')}`, ts, src: 'stt', dst: 'promethean.p.discord.t.demo.duck.transcript.segment', provider: 'discord', tenant: 'demo', intent: 'duck.transcript.segment', payload };
  parseEnvelope(structuredClone(env));
  return env;
}

function run(envs: BusEnvelope[], limits?: Partial<TranscriptLimits>, now = 1000): TranscriptState {
  const l = { maxLinesPerSession: 500, maxSessions: 32, maxTextChars: 2000, ...limits };
  return envs.reduce((s, e, i) => applyTranscript(s, e, now + i, l).state, emptyTranscripts);
}

describe('applyTranscript', () => {
  it('reads the golden STT envelope: text, speaker, final by default, time from ts minus latency and length', () => {
    const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as BusEnvelope;
    const r = applyTranscript(emptyTranscripts, golden, 5000);
    expect(r.outcome).toBe('added');
    const line = r.state.sessions['vs-01']!.lines[0]!;
    expect(line).toMatchObject({ key: 'vs-01:seg-0001', speaker: '1300000000000000003', text: 'can everyone hear me', final: true, confidence: 0.91, language: 'en', revision: 0, updated_at: 5000 });
    // 08:00:14.000 − 310 ms latency − 1,500 ms of speech (123456789000000 → 123458289000000 ns).
    expect(new Date(line.spoken_at).toISOString()).toBe('2026-11-22T08:00:12.190Z');
  });

  it('replaces a partial by later partials and by the final of the same segment, and ignores a partial after the final', () => {
    const a = seg({ segment_id: 'x', text: 'hel', final: false });
    const b = seg({ segment_id: 'x', text: 'hello the', final: false });
    const c = seg({ segment_id: 'x', text: 'hello there', final: true });
    const late = seg({ segment_id: 'x', text: 'hello th', final: false });
    let s = applyTranscript(emptyTranscripts, a, 1).state;
    const rb = applyTranscript(s, b, 2);
    expect(rb.outcome).toBe('replaced');
    const rc = applyTranscript(rb.state, c, 3);
    expect(rc.outcome).toBe('replaced');
    s = rc.state;
    expect(s.sessions.v1!.lines).toHaveLength(1);
    expect(s.sessions.v1!.lines[0]).toMatchObject({ text: 'hello there', final: true, revision: 2 });
    const rl = applyTranscript(s, late, 4);
    expect(rl.outcome).toBe('late_partial');
    expect(rl.state).toBe(s);
  });

  it('orders lines by the monotonic start, not by arrival or wall clock, across bigint-sized values', () => {
    const s = run([
      seg({ segment_id: 'c', ts_start_ns: '90000000000000000001', ts_end_ns: '90000000000000000002' }, '2026-11-30T12:00:00.000Z'),
      seg({ segment_id: 'a', ts_start_ns: '9000000000000000000', ts_end_ns: '9000000000000000001' }, '2026-11-30T12:05:00.000Z'),
      seg({ segment_id: 'b', ts_start_ns: '10000000000000000000', ts_end_ns: '10000000000000000001' }, '2026-11-30T12:01:00.000Z'),
    ]);
    expect(s.sessions.v1!.lines.map((l) => l.segment_id)).toEqual(['a', 'b', 'c']);
  });

  it('keeps at most maxLinesPerSession lines (the oldest go) and refuses a line older than all of a full session', () => {
    const envs = Array.from({ length: 5 }, (_, i) => seg({ segment_id: `n${i}`, ts_start_ns: String((i + 10) * 1e9), ts_end_ns: String((i + 10) * 1e9 + 5e8) }));
    const limits: TranscriptLimits = { maxLinesPerSession: 3, maxSessions: 32, maxTextChars: 2000 };
    let s = emptyTranscripts;
    let evicted = 0;
    for (const e of envs) {
      const r = applyTranscript(s, e, 1, limits);
      s = r.state;
      evicted += r.evicted;
    }
    expect(s.sessions.v1!.lines.map((l) => l.segment_id)).toEqual(['n2', 'n3', 'n4']);
    expect(evicted).toBe(2);
    const old = applyTranscript(s, seg({ segment_id: 'old', ts_start_ns: '1000', ts_end_ns: '2000' }), 2, limits);
    expect(old.outcome).toBe('too_old');
    expect(old.state).toBe(s);
  });

  it('keeps at most maxSessions sessions, forgetting the least recently updated', () => {
    const limits = { maxSessions: 2 };
    const s = run([seg({}, undefined, 'v1'), seg({}, undefined, 'v2'), seg({}, undefined, 'v1'), seg({}, undefined, 'v3')], limits);
    expect(Object.keys(s.sessions).sort()).toEqual(['v1', 'v3']);
  });

  it('cuts a line at maxTextChars', () => {
    const s = run([seg({ text: 'x'.repeat(50) })], { maxTextChars: 10 });
    expect(s.sessions.v1!.lines[0]!.text).toBe(`${'x'.repeat(9)}…`);
  });

  it('ignores malformed payloads and other intents without changing the state', () => {
    const base = run([seg({})]);
    const bad: Array<Record<string, unknown>> = [
      { speaker: undefined },
      { speaker: 42 },
      { text: null },
      { ts_start_ns: '12.5' },
      { ts_start_ns: '-1' },
      { ts_start_ns: '3000000000', ts_end_ns: '2000000000' },
      { session_id: 'x'.repeat(129) },
    ];
    for (const over of bad) {
      const env: BusEnvelope = { ...seg({}), payload: { ...(seg({}).payload as object), ...over } };
      const r = applyTranscript(base, env, 9);
      expect(r.outcome, JSON.stringify(over)).toBe('bad_payload');
      expect(r.state).toBe(base);
    }
    expect(applyTranscript(base, { ...seg({}), payload: 'text' }, 9).outcome).toBe('bad_payload');
    expect(applyTranscript(base, { ...seg({}), intent: 'voice.health' }, 9)).toMatchObject({ outcome: 'not_transcript', state: base });
  });
});

describe('spokenAt', () => {
  it('is the publish time minus latency and segment length; the fallback when ts is unreadable', () => {
    expect(spokenAt('2026-11-30T12:00:10.000Z', 800, '1000000000', '3500000000', 0)).toBe(Date.UTC(2026, 10, 30, 12, 0, 6, 700));
    expect(spokenAt('not a date', 800, '0', '1', 1234)).toBe(1234);
  });
});

describe('captionsOf', () => {
  it('gives each speaker the line that started last, partial included, and drops lines older than the hold', () => {
    const s = run(
      [
        seg({ segment_id: 'a1', speaker: ALICE, text: 'first', ts_start_ns: '1000', ts_end_ns: '2000' }),
        seg({ segment_id: 'b1', speaker: BOB, text: 'bob says', ts_start_ns: '1500', ts_end_ns: '2500' }),
        seg({ segment_id: 'a2', speaker: ALICE, text: 'second', final: false, ts_start_ns: '3000', ts_end_ns: '4000' }),
      ],
      {},
      1000,
    );
    const c = captionsOf(s.sessions.v1, 1002, 30_000);
    expect(c[ALICE]).toMatchObject({ segment_id: 'a2', text: 'second', final: false });
    expect(c[BOB]).toMatchObject({ segment_id: 'b1' });
    // Bob's line changed at 1001, Alice's at 1002: at 31,001.5 only Alice's is within 30 s.
    expect(Object.keys(captionsOf(s.sessions.v1, 31_001.5, 30_000))).toEqual([ALICE]);
    expect(captionsOf(undefined, 0, 1)).toEqual({});
  });
});

describe('searchTranscripts', () => {
  const s = run([
    seg({ segment_id: 'a', text: 'The bike was  stolen\nyesterday' }, '2026-11-30T12:00:00.000Z', 'v1'),
    seg({ segment_id: 'b', text: 'Nothing here' }, '2026-11-30T12:01:00.000Z', 'v1'),
    seg({ segment_id: 'c', text: 'my BIKE WAS STOLEN too' }, '2026-11-30T12:02:00.000Z', 'v2'),
  ]);

  it('matches an exact phrase case-insensitively across whitespace, newest first', () => {
    expect(searchTranscripts(s, 'bike was stolen', null).map((l) => l.segment_id)).toEqual(['c', 'a']);
    expect(searchTranscripts(s, '  stolen   yesterday ', null).map((l) => l.segment_id)).toEqual(['a']);
    expect(searchTranscripts(s, 'stolen bike', null)).toEqual([]);
  });

  it('searches only the given sessions, and nothing for an empty phrase', () => {
    expect(searchTranscripts(s, 'bike', ['v1']).map((l) => l.session_id)).toEqual(['v1']);
    expect(searchTranscripts(s, '   ', null)).toEqual([]);
    expect(searchTranscripts(s, 'bike', null, 1)).toHaveLength(1);
  });
});

describe('createTranscripts', () => {
  it('counts outcomes and evictions and updates the signal only on change', () => {
    const t = createTranscripts({ maxLinesPerSession: 1 });
    const seen: TranscriptState[] = [];
    const stop = t.state.subscribe((v) => seen.push(v));
    expect(t.receive(seg({ ts_start_ns: '10', ts_end_ns: '20' }), 1)).toBe('added');
    expect(t.receive(seg({ ts_start_ns: '30', ts_end_ns: '40' }), 2)).toBe('added');
    const good = seg({});
    expect(t.receive({ ...good, payload: { ...(good.payload as object), speaker: '' } }, 3)).toBe('bad_payload');
    stop();
    expect(t.counters.outcomes).toMatchObject({ added: 2, bad_payload: 1 });
    expect(t.counters.evicted).toBe(1);
    // The initial value, then one per accepted envelope.
    expect(seen).toHaveLength(3);
  });
});
