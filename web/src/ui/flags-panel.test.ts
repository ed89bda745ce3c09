import { describe, expect, it } from 'vitest';
import { makeEnvelope, parseEnvelope } from '@promethean/shared';
import type { BusEnvelope } from '../net/bus.ts';
import { applyFlag, createFlags, emptyFlags, flagsOf, openCount, spanParts, type Flag, type FlagsState } from './flags-panel.ts';

const TEXT = 'Meet me at the old lighthouse tonight';

function flag(over: Partial<Flag> = {}): Flag {
  const start = TEXT.indexOf('old lighthouse');
  return {
    flag_id: '7',
    status: 'open',
    rule_id: 'meeting-spot',
    rule_kind: 'phrase',
    rule_label: 'Meeting spot',
    guild_id: '1100000000000000001',
    channel_id: '1100000000000000002',
    session_id: '1100000000000000001-1100000000000000002',
    segment_id: 'seg-1',
    speaker: '1200000000000000001',
    text: TEXT,
    span: { start, end: start + 'old lighthouse'.length, text: 'old lighthouse', start_ns: '1500000000', end_ns: '2400000000' },
    clip: { start_ns: '500000000', end_ns: '3400000000', stored: true },
    created_at: '2026-12-01T05:00:00.000Z',
    ...over,
  };
}

/** A flag as the server publishes it, checked by the shared envelope schema on the way. */
function envelope(f: Flag): BusEnvelope {
  return parseEnvelope(structuredClone(makeEnvelope('moderation.flag', f, { src: 'moderation', provider: 'discord', tenant: 'demo' }))) as BusEnvelope;
}

describe('applyFlag', () => {
  it('adds a flag, then keeps the latest status per flag_id', () => {
    let s: FlagsState = emptyFlags;
    const a = applyFlag(s, flag());
    expect(a.outcome).toBe('added');
    s = a.state;
    const decided = flag({ status: 'acknowledged', decided_by: 'session:abc', decided_at: '2026-12-01T05:01:00.000Z' });
    const b = applyFlag(s, decided);
    expect(b.outcome).toBe('updated');
    expect(b.state.byId['7']!.status).toBe('acknowledged');
    expect(b.state.byId['7']!.decided_by).toBe('session:abc');
    // The same version again changes nothing (and returns the same object).
    const c = applyFlag(b.state, decided);
    expect(c.outcome).toBe('unchanged');
    expect(c.state).toBe(b.state);
  });

  it('ignores an open version that arrives after a decision (a list that raced the decision)', () => {
    const s = applyFlag(emptyFlags, flag({ status: 'dismissed', decided_by: 'session:x', decided_at: '2026-12-01T05:01:00.000Z' })).state;
    const r = applyFlag(s, flag());
    expect(r.outcome).toBe('stale');
    expect(r.state).toBe(s);
    expect(r.state.byId['7']!.status).toBe('dismissed');
  });

  it('refuses payloads that are not flags or whose span lies outside the text, and keeps the state', () => {
    const s = applyFlag(emptyFlags, flag()).state;
    for (const bad of [null, 'x', {}, { ...flag(), flag_id: '0' }, { ...flag(), status: 'closed' }, { ...flag(), span: { ...flag().span, end: TEXT.length + 1 } }, { ...flag(), span: { ...flag().span, start: 20, end: 10 } }]) {
      const r = applyFlag(s, bad);
      expect(r.outcome).toBe('bad_payload');
      expect(r.state).toBe(s);
    }
  });

  it('keeps at most maxFlags, dropping the oldest ids (compared as numbers, not strings)', () => {
    let s: FlagsState = emptyFlags;
    for (const id of ['9', '10', '11']) s = applyFlag(s, flag({ flag_id: id }), { maxFlags: 3 }).state;
    const r = applyFlag(s, flag({ flag_id: '100' }), { maxFlags: 3 });
    expect(r.outcome).toBe('added');
    expect(r.evicted).toBe(1);
    expect(Object.keys(r.state.byId).sort()).toEqual(['10', '100', '11']);
    // Older than everything kept while full: not added at all.
    const old = applyFlag(r.state, flag({ flag_id: '8' }), { maxFlags: 3 });
    expect(old.outcome).toBe('too_old');
    expect(old.state).toBe(r.state);
  });
});

describe('flagsOf and openCount', () => {
  it('list a guild\'s flags newest first by numeric id, and count the open ones', () => {
    let s: FlagsState = emptyFlags;
    s = applyFlag(s, flag({ flag_id: '9' })).state;
    s = applyFlag(s, flag({ flag_id: '10', status: 'acknowledged', decided_by: 'session:a', decided_at: '2026-12-01T05:02:00.000Z' })).state;
    s = applyFlag(s, flag({ flag_id: '11', guild_id: '1300000000000000001' })).state;
    expect(flagsOf(s, '1100000000000000001').map((f) => f.flag_id)).toEqual(['10', '9']);
    expect(flagsOf(s, null).map((f) => f.flag_id)).toEqual(['11', '10', '9']);
    expect(openCount(s, '1100000000000000001')).toBe(1);
    expect(openCount(s, null)).toBe(2);
  });
});

describe('spanParts', () => {
  it('splits the text around the match', () => {
    const start = TEXT.indexOf('old lighthouse');
    expect(spanParts(TEXT, start, start + 14)).toEqual({ before: 'Meet me at the ', match: 'old lighthouse', after: ' tonight' });
  });

  it('cuts long context with an ellipsis and clamps offsets to the text', () => {
    const long = `${'a'.repeat(300)}MATCH${'b'.repeat(300)}`;
    const p = spanParts(long, 300, 305, 10);
    expect(p).toEqual({ before: `…${'a'.repeat(10)}`, match: 'MATCH', after: `${'b'.repeat(10)}…` });
    expect(spanParts('short', 3, 99)).toEqual({ before: 'sho', match: 'rt', after: '' });
  });
});

describe('createFlags().receive', () => {
  it('takes moderation.flag envelopes, ignores other intents and counts refused payloads', () => {
    const model = createFlags(() => Promise.reject(new Error('no network in this test')));
    expect(model.receive(envelope(flag()))).toBe('added');
    expect(model.receive({ ...envelope(flag()), intent: 'duck.transcript.segment' })).toBeNull();
    expect(model.receive({ ...envelope(flag()), payload: { flag_id: 'nope' } })).toBe('bad_payload');
    expect(model.state.value.byId['7']!.rule_id).toBe('meeting-spot');
    expect(model.counters.outcomes).toMatchObject({ added: 1, bad_payload: 1 });
  });

  it('load() reports a failed list without dropping what the bus delivered', async () => {
    const model = createFlags(() => Promise.reject(new TypeError('Failed to fetch')));
    model.receive(envelope(flag()));
    await model.load();
    expect(model.error.value).toMatch(/^Could not load flags: /);
    expect(model.loaded.value).toBe(false);
    expect(Object.keys(model.state.value.byId)).toEqual(['7']);
  });
});
