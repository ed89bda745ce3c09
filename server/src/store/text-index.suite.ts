/**
 * Conformance of the text index (migration 005) for every driver; `runStoreSuite` runs it on its
 * migrated store. Content hashes are checked against node:crypto, not against what the store computed.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SqlStore } from './sqlStore.ts';
import type { IndexMessageInput } from './text-index.ts';
import { StoreInputError } from './errors.ts';

const P = 'discord';
const sha = (s: string | Uint8Array): string => createHash('sha256').update(s).digest('hex');

function msg(tenant: string, id: number, over: Partial<IndexMessageInput> = {}): IndexMessageInput {
  return {
    provider: P,
    tenant,
    foreign_id: String(1000 + id),
    space_id: 'g1',
    channel_id: 'c1',
    author_id: 'u1',
    content: `message ${id}`,
    created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, id)),
    raw: { id: String(1000 + id) },
    ...over,
  };
}

export function runTextIndexSuite(store: () => SqlStore): void {
  describe('text index (messages, attachments, backfill jobs)', () => {
    it('indexMessages() stores thread_id and a content_hash equal to sha-256 of the UTF-8 content', async () => {
      const t = 'ti-hash';
      const content = 'héllo 🎙️ world';
      expect(await store().indexMessages([msg(t, 1, { content, thread_id: 't9' }), msg(t, 2)])).toEqual({ inserted: 2, updated: 0, unchanged: 0 });
      const got = await store().getIndexedMessage({ provider: P, tenant: t, foreign_id: '1001' });
      expect(got).toMatchObject({ content, thread_id: 't9', deleted_at: null, content_hash: sha(Buffer.from(content, 'utf8')) });
      expect(await store().indexMessages([msg(t, 1, { content, thread_id: 't9' }), msg(t, 2)])).toEqual({ inserted: 0, updated: 0, unchanged: 2 });
    });

    it('editMessage() applies a newer edit, refuses an older one as stale, and reports a missing message', async () => {
      const t = 'ti-edit';
      await store().indexMessages([msg(t, 1)]);
      const key = { provider: P, tenant: t, foreign_id: '1001' };
      expect(await store().editMessage({ ...key, content: 'v2', edited_at: '2026-01-02T00:00:00Z' })).toBe('updated');
      expect(await store().editMessage({ ...key, content: 'v2', edited_at: '2026-01-02T00:00:00Z' })).toBe('unchanged');
      expect(await store().editMessage({ ...key, content: 'v1.5', edited_at: '2026-01-01T12:00:00Z' })).toBe('stale');
      expect(await store().editMessage({ ...key, foreign_id: '9', content: 'x', edited_at: '2026-01-02T00:00:00Z' })).toBe('missing');
      const got = await store().getIndexedMessage(key);
      expect(got).toMatchObject({ content: 'v2', edited_at: '2026-01-02T00:00:00.000Z', content_hash: sha('v2') });
      // A backfill page carrying the unedited message does not undo the edit.
      expect(await store().indexMessages([msg(t, 1)])).toEqual({ inserted: 0, updated: 0, unchanged: 1 });
      expect((await store().getIndexedMessage(key))?.content).toBe('v2');
    });

    it('markMessagesDeleted() marks only that tenant\'s rows, once, and a later indexMessages() does not revive them', async () => {
      const t = 'ti-del';
      await store().indexMessages([msg(t, 1), msg(t, 2), msg(t, 3), msg('ti-del-other', 1)]);
      expect(await store().markMessagesDeleted({ provider: P, tenant: t }, ['1001', '1002', '404'])).toBe(2);
      expect(await store().markMessagesDeleted({ provider: P, tenant: t }, ['1001'])).toBe(0);
      expect((await store().getIndexedMessage({ provider: P, tenant: 'ti-del-other', foreign_id: '1001' }))?.deleted_at).toBeNull();
      await store().indexMessages([msg(t, 1, { content: 'late page' })]);
      const got = await store().getIndexedMessage({ provider: P, tenant: t, foreign_id: '1001' });
      expect(got?.deleted_at).not.toBeNull();
      expect((await store().searchMessageText({ provider: P, tenant: t, phrase: 'message' })).map((m) => m.foreign_id)).toEqual(['1003']);
    });

    it('searchMessageText() finds an exact phrase case-insensitively, scoped by tenant, guild and channel, newest first', async () => {
      const t = 'ti-search';
      await store().indexMessages([
        msg(t, 1, { content: 'The Quick brown fox' }),
        msg(t, 2, { content: 'quick brown', channel_id: 'c2' }),
        msg(t, 3, { content: 'brown quick', space_id: 'g2' }),
        msg(t, 4, { content: '100% quick_brown' }),
        msg('ti-search-other', 5, { content: 'quick brown' }),
      ]);
      const ids = async (q: Partial<Parameters<SqlStore['searchMessageText']>[0]>) =>
        (await store().searchMessageText({ provider: P, tenant: t, phrase: 'quick brown', ...q })).map((m) => m.foreign_id);
      expect(await ids({})).toEqual(['1002', '1001']);
      expect(await ids({ channel_ids: ['c1'] })).toEqual(['1001']);
      expect(await ids({ guild_ids: ['g2'] })).toEqual([]);
      expect(await ids({ phrase: '% QUICK_' })).toEqual(['1004']);
      expect(await ids({ limit: 1 })).toEqual(['1002']);
      await expect(store().searchMessageText({ provider: P, tenant: t, phrase: '   ' })).rejects.toBeInstanceOf(StoreInputError);
    });

    it('purgeMessagesBefore() deletes one tenant\'s messages older than the cutoff', async () => {
      const t = 'ti-retain';
      await store().indexMessages([msg(t, 1), msg(t, 2), msg(t, 3), msg('ti-retain-other', 1)]);
      expect(await store().purgeMessagesBefore({ provider: P, tenant: t }, new Date(Date.UTC(2026, 0, 1, 0, 0, 3)))).toBe(2);
      expect(await store().countMessages({ provider: P, tenant: t })).toBe(1);
      expect(await store().countMessages({ provider: P, tenant: 'ti-retain-other' })).toBe(1);
    });

    it('putAttachment() keeps one blob per sha-256 and one row per attachment id', async () => {
      const t = 'ti-att';
      const h = sha('bytes');
      const base = { provider: P, tenant: t, message_id: '1001', channel_id: 'c1', status: 'stored' as const, sha256: h, size: 5, content_type: 'image/png' };
      expect(await store().putAttachment({ ...base, foreign_id: 'a1', filename: 'x.png', declared_type: 'image/png' })).toEqual({ blob: 'new' });
      expect(await store().putAttachment({ ...base, foreign_id: 'a2' })).toEqual({ blob: 'known' });
      expect(await store().putAttachment({ ...base, tenant: 'ti-att-b', foreign_id: 'a1' })).toEqual({ blob: 'known' });
      expect(await store().putAttachment({ provider: P, tenant: t, foreign_id: 'a3', message_id: '1001', status: 'oversize', declared_size: 1e9, error: 'too big' })).toEqual({ blob: 'none' });
      expect(await store().getAttachment({ provider: P, tenant: t, foreign_id: 'a1' })).toMatchObject({ sha256: h, size: 5, content_type: 'image/png', filename: 'x.png', status: 'stored' });
      expect(await store().getAttachment({ provider: P, tenant: t, foreign_id: 'a3' })).toMatchObject({ sha256: null, status: 'oversize', declared_size: 1e9 });
      const blobs = await store().sql.query<{ n: number }>('SELECT count(*)::int AS n FROM attachment_blobs WHERE sha256 = $1', [h]);
      expect(Number(blobs.rows[0]!.n)).toBe(1);
      const bad = await store().putAttachment({ ...base, foreign_id: 'a4', sha256: null }).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(StoreInputError);
      expect((bad as StoreInputError).path).toBe('attachment.status');
    });

    it('backfill jobs: created once by id, cursor saved, listed while running, not after done', async () => {
      const key = { provider: P, tenant: 'ti-jobs', job_id: 'j1' };
      const first = await store().createBackfillJob({ ...key, channel_id: 'c1', max_messages: 500, before: '900' });
      expect(first).toMatchObject({ created: true, job: { status: 'running', next_before: '900', fetched: 0, max_messages: 500 } });
      expect((await store().createBackfillJob({ ...key, channel_id: 'c2', max_messages: 5 })).created).toBe(false);
      await store().updateBackfillJob({ ...key, status: 'running', next_before: '800', fetched: 100, duplicates: 3, oldest_id: '800' });
      expect(await store().getBackfillJob(key)).toMatchObject({ channel_id: 'c1', next_before: '800', fetched: 100, duplicates: 3, oldest_id: '800' });
      expect((await store().listRunningBackfillJobs()).some((j) => j.tenant === 'ti-jobs' && j.job_id === 'j1')).toBe(true);
      await store().updateBackfillJob({ ...key, status: 'done', next_before: null, fetched: 150, duplicates: 3, reason: 'exhausted' });
      expect((await store().listRunningBackfillJobs()).some((j) => j.tenant === 'ti-jobs')).toBe(false);
      expect(await store().updateBackfillJob({ ...key, job_id: 'nope', status: 'done', next_before: null, fetched: 0, duplicates: 0 })).toBeUndefined();
      await expect(store().createBackfillJob({ ...key, job_id: 'j2', channel_id: 'c1', max_messages: 5, before: 'abc' })).rejects.toBeInstanceOf(StoreInputError);
    });
  });
}
