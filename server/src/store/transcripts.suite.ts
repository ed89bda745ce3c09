/**
 * Conformance of live transcripts (migration 007) for every driver; `runStoreSuite` runs it on its
 * migrated store.
 */
import { describe, expect, it } from 'vitest';
import type { SqlStore } from './sqlStore.ts';
import type { TranscriptInput, TranscriptQuery } from './transcripts.ts';
import { StoreInputError } from './errors.ts';

const P = 'discord';

function tr(tenant: string, segment: string, over: Partial<TranscriptInput> = {}): TranscriptInput {
  return {
    provider: P,
    tenant,
    session_id: 's1',
    segment_id: segment,
    speaker_id: 'u1',
    text: `said ${segment}`,
    start_ns: '1000000000',
    end_ns: '2000000000',
    lang: 'en',
    confidence: 0.8,
    model: 'faster-whisper/whisper-tiny.en',
    final: true,
    words: [{ word: 'said', start_ms: 0, end_ms: 250.5, p: 0.9 }],
    tokens: 2,
    rtf: 0.3,
    transcribed_at: '2026-06-01T00:00:00.000Z',
    ...over,
  } as TranscriptInput;
}

export function runTranscriptSuite(store: () => SqlStore): void {
  describe('live transcripts', () => {
    it('upsertTranscript() inserts, then a repeat is unchanged, then changed content updates; the row reads back whole', async () => {
      const t = 'tr-basic';
      expect(await store().upsertTranscript(tr(t, 'a'))).toBe('inserted');
      expect(await store().upsertTranscript(tr(t, 'a', { transcribed_at: '2026-06-02T00:00:00.000Z' }))).toBe('unchanged');
      expect(await store().upsertTranscript(tr(t, 'a', { text: 'said a again' }))).toBe('updated');
      const row = await store().getTranscript({ provider: P, tenant: t, foreign_id: 's1:a' });
      expect(row).toMatchObject({
        session_id: 's1', segment_id: 'a', speaker_id: 'u1', text: 'said a again', start_ns: '1000000000', end_ns: '2000000000',
        lang: 'en', confidence: 0.8, model: 'faster-whisper/whisper-tiny.en', final: true, tokens: 2, rtf: 0.3,
        words: [{ word: 'said', start_ms: 0, end_ms: 250.5, p: 0.9 }],
      });
      expect(row?.transcribed_at).toBe('2026-06-01T00:00:00.000Z');
      // The older putTranscriptSegment() reads the same row.
      expect((await store().getTranscriptSegment({ provider: P, tenant: t, foreign_id: 's1:a' }))?.text).toBe('said a again');
    });

    it('a final result replaces a partial one; a partial after the final is stale and changes nothing', async () => {
      const t = 'tr-final';
      expect(await store().upsertTranscript(tr(t, 'p', { final: false, text: 'said' }))).toBe('inserted');
      expect(await store().upsertTranscript(tr(t, 'p', { final: false, text: 'said p' }))).toBe('updated');
      expect(await store().upsertTranscript(tr(t, 'p', { final: true, text: 'said p.' }))).toBe('updated');
      expect(await store().upsertTranscript(tr(t, 'p', { final: false, text: 'sad' }))).toBe('stale');
      expect(await store().upsertTranscript(tr(t, 'p', { final: true, text: 'said p.' }))).toBe('unchanged');
      expect(await store().getTranscript({ provider: P, tenant: t, foreign_id: 's1:p' })).toMatchObject({ final: true, text: 'said p.' });
    });

    it('listTranscripts() gives a session in session-clock order, optionally one speaker', async () => {
      const t = 'tr-list';
      await store().upsertTranscript(tr(t, 'late', { start_ns: '9000000000', end_ns: '9500000000' }));
      await store().upsertTranscript(tr(t, 'early', { start_ns: '100', end_ns: '200', speaker_id: 'u2' }));
      await store().upsertTranscript(tr(t, 'other', { session_id: 's2' }));
      expect((await store().listTranscripts({ provider: P, tenant: t, session_id: 's1' })).map((r) => r.segment_id)).toEqual(['early', 'late']);
      expect((await store().listTranscripts({ provider: P, tenant: t, session_id: 's1', speaker_id: 'u2' })).map((r) => r.segment_id)).toEqual(['early']);
      expect(await store().listTranscripts({ provider: P, tenant: t, session_id: 's1', limit: 1 })).toHaveLength(1);
    });

    it('listTranscripts() orders by the numeric session clock, filters finals and a span, and takes the newest when asked', async () => {
      const t = 'tr-span';
      // Starts of different digit counts: a text order would put 10 s before 9 s.
      await store().upsertTranscript(tr(t, 'a', { start_ns: '9000000000', end_ns: '9500000000' }));
      await store().upsertTranscript(tr(t, 'b', { start_ns: '10000000000', end_ns: '11000000000' }));
      await store().upsertTranscript(tr(t, 'c', { start_ns: '12000000000', end_ns: '13000000000', final: false }));
      await store().upsertTranscript(tr(t, 'd', { start_ns: '14000000000', end_ns: '15000000000' }));
      const ids = async (q: Partial<TranscriptQuery>) => (await store().listTranscripts({ provider: P, tenant: t, session_id: 's1', ...q })).map((r) => r.segment_id);
      expect(await ids({})).toEqual(['a', 'b', 'c', 'd']);
      expect(await ids({ final_only: true })).toEqual(['a', 'b', 'd']);
      // Overlap with [9.4 s, 10 s): a ends inside it; b starts at its (exclusive) end.
      expect(await ids({ from_ns: '9400000000', to_ns: '10000000000' })).toEqual(['a']);
      expect(await ids({ from_ns: '9500000000', to_ns: '10000000001' })).toEqual(['b']);
      expect(await ids({ from_ns: '10500000000' })).toEqual(['b', 'c', 'd']);
      expect(await ids({ to_ns: '10000000000' })).toEqual(['a']);
      expect(await ids({ limit: 2 })).toEqual(['a', 'b']);
      expect(await ids({ limit: 2, newest: true })).toEqual(['c', 'd']);
      expect(await ids({ limit: 2, newest: true, final_only: true })).toEqual(['b', 'd']);
      await expect(store().listTranscripts({ provider: P, tenant: t, session_id: 's1', from_ns: '-1' })).rejects.toThrow(StoreInputError);
    });

    it('deleteSpeakerTranscripts() limited to sessions removes the user’s rows in those sessions only', async () => {
      const t = 'tr-del-sessions';
      await store().upsertTranscript(tr(t, 'a', { speaker_id: 'gone', session_id: 'g1-c1' }));
      await store().upsertTranscript(tr(t, 'b', { speaker_id: 'gone', session_id: 'g2-c1' }));
      await store().upsertTranscript(tr(t, 'c', { speaker_id: 'stays', session_id: 'g1-c1' }));
      expect(await store().deleteSpeakerTranscripts({ provider: P, tenant: t, session_ids: [] }, 'gone')).toBe(0);
      expect(await store().deleteSpeakerTranscripts({ provider: P, tenant: t, session_ids: ['g1-c1', 'nothing'] }, 'gone')).toBe(1);
      expect(await store().getTranscript({ provider: P, tenant: t, foreign_id: 'g2-c1:b' })).toBeDefined();
      expect(await store().getTranscript({ provider: P, tenant: t, foreign_id: 'g1-c1:c' })).toBeDefined();
    });

    it('recordTranscriptSession() keeps where a session lives, moves a reused id, and lists a guild’s sessions per tenant', async () => {
      const t = 'tr-sessions';
      await store().recordTranscriptSession({ provider: P, tenant: t, session_id: 'a', guild_id: 'g1', channel_id: 'c1' });
      await store().recordTranscriptSession({ provider: P, tenant: t, session_id: 'b', guild_id: 'g1', channel_id: 'c2' });
      await store().recordTranscriptSession({ provider: P, tenant: t, session_id: 'c', guild_id: 'g2', channel_id: 'c1' });
      await store().recordTranscriptSession({ provider: P, tenant: `${t}-other`, session_id: 'd', guild_id: 'g1', channel_id: 'c1' });
      expect(await store().getTranscriptSession({ provider: P, tenant: t, session_id: 'a' })).toMatchObject({ session_id: 'a', guild_id: 'g1', channel_id: 'c1' });
      expect(await store().getTranscriptSession({ provider: P, tenant: `${t}-other`, session_id: 'a' })).toBeUndefined();
      expect((await store().listTranscriptSessions({ provider: P, tenant: t, guild_id: 'g1' })).sort()).toEqual(['a', 'b']);
      expect(await store().listTranscriptSessions({ provider: P, tenant: t, guild_id: 'g1', channel_id: 'c2' })).toEqual(['b']);
      await store().recordTranscriptSession({ provider: P, tenant: t, session_id: 'a', guild_id: 'g2', channel_id: 'c9' });
      expect(await store().getTranscriptSession({ provider: P, tenant: t, session_id: 'a' })).toMatchObject({ guild_id: 'g2', channel_id: 'c9' });
      expect(await store().listTranscriptSessions({ provider: P, tenant: t, guild_id: 'g1' })).toEqual(['b']);
      await expect(store().recordTranscriptSession({ provider: P, tenant: t, session_id: '', guild_id: 'g1', channel_id: 'c1' })).rejects.toThrow(StoreInputError);
    });

    it('deleteSpeakerTranscripts() removes one user’s transcripts in one tenant only', async () => {
      await store().upsertTranscript(tr('tr-del', 'a', { speaker_id: 'gone' }));
      await store().upsertTranscript(tr('tr-del', 'b', { speaker_id: 'gone', session_id: 's2' }));
      await store().upsertTranscript(tr('tr-del', 'c', { speaker_id: 'stays' }));
      await store().upsertTranscript(tr('tr-del-other', 'a', { speaker_id: 'gone' }));
      expect(await store().deleteSpeakerTranscripts({ provider: P, tenant: 'tr-del' }, 'gone')).toBe(2);
      expect(await store().deleteSpeakerTranscripts({ provider: P, tenant: 'tr-del' }, 'gone')).toBe(0);
      expect((await store().listTranscripts({ provider: P, tenant: 'tr-del', session_id: 's1' })).map((r) => r.speaker_id)).toEqual(['stays']);
      expect(await store().getTranscript({ provider: P, tenant: 'tr-del-other', foreign_id: 's1:a' })).toBeDefined();
    });

    it('purgeTranscriptsBefore() deletes by when a transcript was made, per tenant; transcriptTenants() lists tenants with rows', async () => {
      await store().upsertTranscript(tr('tr-ret', 'old', { transcribed_at: '2026-01-01T00:00:00Z' }));
      await store().upsertTranscript(tr('tr-ret', 'new', { transcribed_at: '2026-03-01T00:00:00Z' }));
      await store().upsertTranscript(tr('tr-ret-b', 'old', { transcribed_at: '2026-01-01T00:00:00Z' }));
      expect(await store().purgeTranscriptsBefore({ provider: P, tenant: 'tr-ret' }, '2026-02-01T00:00:00Z')).toBe(1);
      expect(await store().getTranscript({ provider: P, tenant: 'tr-ret', foreign_id: 's1:new' })).toBeDefined();
      expect(await store().getTranscript({ provider: P, tenant: 'tr-ret-b', foreign_id: 's1:old' })).toBeDefined();
      const tenants = await store().transcriptTenants();
      expect(tenants).toContainEqual({ provider: P, tenant: 'tr-ret' });
      expect(tenants).toContainEqual({ provider: P, tenant: 'tr-ret-b' });
    });

    it('refuses bad input with StoreInputError naming the field, writing nothing', async () => {
      const t = 'tr-bad';
      const bad: Array<[Partial<TranscriptInput>, RegExp]> = [
        [{ session_id: 'a:b' }, /transcript\.session_id/],
        [{ words: [{ word: '', start_ms: 0, end_ms: 1 }] }, /transcript\.words\.0\.word/],
        [{ words: [{ word: 'x', start_ms: -1, end_ms: 1 }] }, /transcript\.words\.0\.start_ms/],
        [{ end_ns: '5' }, /transcript\.end_ns/],
        [{ rtf: -1 }, /transcript\.rtf/],
        [{ text: 'nul\u0000' }, /transcript\.text/],
      ];
      for (const [over, message] of bad) {
        await expect(store().upsertTranscript(tr(t, 'x', over))).rejects.toThrow(StoreInputError);
        await expect(store().upsertTranscript(tr(t, 'x', over))).rejects.toThrow(message);
      }
      expect(await store().listTranscripts({ provider: P, tenant: t, session_id: 's1' })).toEqual([]);
      await expect(store().deleteSpeakerTranscripts({ provider: P, tenant: t }, '')).rejects.toThrow(StoreInputError);
      await expect(store().purgeTranscriptsBefore({ provider: P, tenant: t }, 'yesterday')).rejects.toThrow(StoreInputError);
    });
  });
}
