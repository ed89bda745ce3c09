/**
 * The conformance suite every Store driver runs (`pglite.test.ts`, `postgres.test.ts`). `create` must
 * return a fresh, empty, not yet migrated store on each call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidStateError, UnsupportedError } from '@promethean/shared';
import { SqlStore } from './sqlStore.ts';
import type { AuditHead, AuditRecord, MessageInput } from './store.ts';
import { EMBEDDING_DIMENSIONS } from './store.ts';
import { GENESIS_HASH, auditHash } from './audit-chain.ts';
import { StoreInputError } from './errors.ts';
import { loadMigrations } from './migrate.ts';
import { seededRandom } from '../../../test/support/prng.ts';
import { runTextIndexSuite } from './text-index.suite.ts';
import { runTranscriptSuite } from './transcripts.suite.ts';

export interface StoreSuiteOptions {
  /** What `capabilities.vector` must be; undefined accepts either (and tests vectors where present). */
  expectVector?: boolean;
}

const P = 'discord';

export function message(tenant: string, id: string | number, over: Partial<MessageInput> = {}): MessageInput {
  return {
    provider: P,
    tenant,
    foreign_id: String(id),
    space_id: 'g1',
    channel_id: 'c1',
    author_id: 'u1',
    content: `message ${id}`,
    created_at: new Date(Date.UTC(2026, 0, 1) + Number.parseInt(String(id), 36)),
    raw: { id: String(id) },
    ...over,
  };
}

/** Deterministic pseudo-random numbers (mulberry32) so vector fixtures are the same on every run. */

/** Reference cosine distance over float32-rounded components (pgvector stores float4). */
function cosineDistance(a: Float32Array, b: Float32Array): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return 1 - dot / Math.sqrt(na * nb);
}

const hash = (n: number): string => n.toString(16).padStart(64, '0');

export function runStoreSuite(name: string, create: () => Promise<SqlStore>, options: StoreSuiteOptions = {}): void {
  describe(`Store conformance: ${name}`, () => {
    let store: SqlStore;
    let migrated: { applied: number[]; skipped: number[] };

    beforeAll(async () => {
      store = await create();
      migrated = await store.migrate();
    });
    afterAll(async () => {
      await store?.close();
    });

    runTextIndexSuite(() => store);
    runTranscriptSuite(() => store);

    it('migrate() applies every migration file once in version order, and a second call is a no-op', async () => {
      const files = await loadMigrations();
      const wanted = files.filter((m) => !m.requires || store.capabilities[m.requires]).map((m) => m.version);
      const unmet = files.filter((m) => m.requires && !store.capabilities[m.requires]).map((m) => m.version);
      expect(migrated).toEqual({ applied: wanted, skipped: unmet });
      expect(await store.migrate()).toEqual({ applied: [], skipped: unmet });
      const rows = await store.sql.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      expect(rows.rows.map((r) => Number(r.version))).toEqual(wanted);
    });

    it('capabilities.vector is what the database offers', () => {
      if (options.expectVector !== undefined) expect(store.capabilities.vector).toBe(options.expectVector);
      else expect(typeof store.capabilities.vector).toBe('boolean');
    });

    it('upsertMessages() updates a row by (provider, tenant, foreign_id) instead of duplicating it', async () => {
      const t = 'upsert';
      expect(await store.upsertMessages([message(t, 1), message(t, 2), message(t, 3)])).toEqual({ inserted: 3, updated: 0, unchanged: 0 });
      const edited = message(t, 2, { content: 'edited', edited_at: '2026-02-01T10:00:00+02:00' });
      expect(await store.upsertMessages([message(t, 1), edited, message(t, 4)])).toEqual({ inserted: 1, updated: 1, unchanged: 1 });
      expect(await store.countMessages({ provider: P, tenant: t })).toBe(4);
      const got = await store.getMessage({ provider: P, tenant: t, foreign_id: '2' });
      expect(got).toMatchObject({ content: 'edited', edited_at: '2026-02-01T08:00:00.000Z', raw: { id: '2' } });
    });

    it('upsertMessages() keeps tenants and providers apart: the same foreign_id is one row per (provider, tenant)', async () => {
      await store.upsertMessages([message('iso-a', 7, { content: 'A' }), message('iso-b', 7, { content: 'B' }), message('iso-a', 7, { provider: 'slack', content: 'S' })]);
      expect((await store.getMessage({ provider: P, tenant: 'iso-a', foreign_id: '7' }))?.content).toBe('A');
      expect((await store.getMessage({ provider: P, tenant: 'iso-b', foreign_id: '7' }))?.content).toBe('B');
      expect((await store.getMessage({ provider: 'slack', tenant: 'iso-a', foreign_id: '7' }))?.content).toBe('S');
      expect(await store.getMessage({ provider: P, tenant: 'iso-c', foreign_id: '7' })).toBeUndefined();
      expect(await store.countMessages({ provider: P, tenant: 'iso-a' })).toBe(1);
    });

    it('upsertMessages() stores a batch of 10,000 rows and a repeat changes nothing', async () => {
      const t = 'bulk';
      const rows = Array.from({ length: 10_000 }, (_, i) => message(t, i));
      expect(await store.upsertMessages(rows)).toEqual({ inserted: 10_000, updated: 0, unchanged: 0 });
      expect(await store.countMessages({ provider: P, tenant: t })).toBe(10_000);
      expect(await store.getMessage({ provider: P, tenant: t, foreign_id: '9999' })).toMatchObject({ content: 'message 9999', raw: { id: '9999' } });
      expect(await store.upsertMessages(rows)).toEqual({ inserted: 0, updated: 0, unchanged: 10_000 });
    });

    it('upsertMessages() collapses a key repeated within one call to its last occurrence', async () => {
      const t = 'dupes';
      expect(await store.upsertMessages([message(t, 1, { content: 'first' }), message(t, 1, { content: 'last' })])).toEqual({ inserted: 1, updated: 0, unchanged: 0 });
      expect((await store.getMessage({ provider: P, tenant: t, foreign_id: '1' }))?.content).toBe('last');
    });

    it('upsertMessages() round-trips text and JSON that need quoting in array literals', async () => {
      const t = 'escape';
      const tricky = ['', 'NULL', 'a"b', 'back\\slash', '{braces},commas', 'tab\tnew\nline', 'emoji 🎙️ ünï', "quote ' single"];
      await store.upsertMessages(tricky.map((content, i) => message(t, i, { content, raw: { content, nested: [1, null, { k: content }] } })));
      for (const [i, content] of tricky.entries()) {
        const got = await store.getMessage({ provider: P, tenant: t, foreign_id: String(i) });
        expect(got?.content).toBe(content);
        expect(got?.raw).toEqual({ content, nested: [1, null, { k: content }] });
      }
    });

    it('upsertMessages() rejects a row missing tenant with StoreInputError naming it, and writes nothing of that call', async () => {
      const t = 'reject';
      const before = store.counters.rejectedInputs;
      const bad = { ...message(t, 2) } as Partial<MessageInput>;
      delete bad.tenant;
      const err = await store.upsertMessages([message(t, 1), bad as MessageInput]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreInputError);
      expect((err as StoreInputError).path).toBe('rows.1.tenant');
      expect(await store.countMessages({ provider: P, tenant: t })).toBe(0);
      expect(store.counters.rejectedInputs).toBe(before + 1);
    });

    it.each([
      ['a bad timestamp', { created_at: 'yesterday' }, 'rows.0.created_at'],
      ['a NUL in content', { content: 'a\u0000b' }, 'rows.0.content'],
      ['a NUL in raw JSON', { raw: { s: '\u0000' } }, 'rows.0.raw'],
      ['raw that is not JSON', { raw: { n: 1n } }, 'rows.0.raw'],
      ['an upper-case tenant', { tenant: 'Demo' }, 'rows.0.tenant'],
      ['an empty foreign_id', { foreign_id: '' }, 'rows.0.foreign_id'],
    ] as const)('upsertMessages() rejects %s with StoreInputError', async (_what, over, path) => {
      const err = await store.upsertMessages([message('bad', 1, over as Partial<MessageInput>)]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreInputError);
      expect((err as StoreInputError).path).toBe(path);
    });

    it('putTranscriptSegment() is idempotent by {session_id}:{segment_id}', async () => {
      const seg = { provider: P, tenant: 'seg', session_id: 's1', segment_id: '42', speaker_id: 'u9', text: 'hello', start_ns: '1000', end_ns: '9223372036854775807', confidence: 0.9 };
      expect(await store.putTranscriptSegment(seg)).toBe('inserted');
      expect(await store.putTranscriptSegment(seg)).toBe('unchanged');
      expect(await store.putTranscriptSegment({ ...seg, text: 'hello there' })).toBe('updated');
      expect(await store.putTranscriptSegment({ ...seg, tenant: 'seg-other' })).toBe('inserted');
      expect(await store.getTranscriptSegment({ provider: P, tenant: 'seg', foreign_id: 's1:42' })).toMatchObject({
        text: 'hello there', start_ns: '1000', end_ns: '9223372036854775807', confidence: 0.9, channel_id: null,
      });
      const bad = await store.putTranscriptSegment({ ...seg, start_ns: '5', end_ns: '4' }).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(StoreInputError);
      expect((bad as StoreInputError).path).toBe('segment.end_ns');
      await expect(store.putTranscriptSegment({ ...seg, session_id: 'a:b' })).rejects.toBeInstanceOf(StoreInputError);
    });

    it('listAudit() returns one tenant\'s records in append order, filtered and paged', async () => {
      const base = { provider: P, guild_id: 'g1', actor: 'mod1', action: 'listen', token_id_hash: hash(1) };
      const a1 = await store.appendAudit({ ...base, tenant: 'aud', channel_id: 'c1' });
      await store.appendAudit({ ...base, tenant: 'aud-other', channel_id: 'c1' });
      const a2 = await store.appendAudit({ ...base, tenant: 'aud', channel_id: 'c2', detail: { via: 'web' } });
      const a3 = await store.appendAudit({ ...base, tenant: 'aud', channel_id: 'c1', action: 'listen.stop' });
      const all = await store.listAudit({ provider: P, tenant: 'aud' });
      expect(all.map((r) => r.id)).toEqual([a1.id, a2.id, a3.id]);
      expect(all.map((r) => r.action)).toEqual(['listen', 'listen', 'listen.stop']);
      expect(BigInt(a1.id) < BigInt(a2.id) && BigInt(a2.id) < BigInt(a3.id)).toBe(true);
      expect(all[1]).toMatchObject({ detail: { via: 'web' }, token_id_hash: hash(1), guild_id: 'g1' });
      expect((await store.listAudit({ provider: P, tenant: 'aud', channel_id: 'c1' })).map((r) => r.id)).toEqual([a1.id, a3.id]);
      expect((await store.listAudit({ provider: P, tenant: 'aud', after_id: a1.id, limit: 1 })).map((r) => r.id)).toEqual([a2.id]);
      await expect(store.appendAudit({ ...base, tenant: 'aud', token_id_hash: 'raw-token' })).rejects.toBeInstanceOf(StoreInputError);
    });

    it('audit_log refuses UPDATE and DELETE', async () => {
      await store.appendAudit({ provider: P, tenant: 'aud-ro', actor: 'x', action: 'listen' });
      await expect(store.sql.query("UPDATE audit_log SET actor = 'y' WHERE tenant = 'aud-ro'")).rejects.toThrow(/append-only/);
      await expect(store.sql.query("DELETE FROM audit_log WHERE tenant = 'aud-ro'")).rejects.toThrow(/append-only/);
      expect((await store.listAudit({ provider: P, tenant: 'aud-ro' }))[0]?.actor).toBe('x');
    });

    describe('audit hash chain', () => {
      const key = Buffer.alloc(32, 7);
      let chained: SqlStore;
      const heads: AuditHead[] = [];
      const verifies = (r: AuditRecord): boolean => r.hash === auditHash(key, { ...r, seq: r.seq!, prev_hash: r.prev_hash! });
      const tricky = {
        z: 1, a: [1.5, 1e21, -0.25, 2 ** 53, true, null, { y: 'ü', b: '🎙️ "quoted" \\ back' }], m: { '': 0, 'é': 'x', B: 2, b: 1 },
      };

      beforeAll(async () => {
        chained = await create();
        await chained.migrate();
      });
      afterAll(async () => {
        await chained?.close();
      });

      it('useAuditChain() chains the rows written before the chain, in id order, once', async () => {
        await chained.appendAudit({ provider: P, tenant: 'chain', actor: 'old', action: 'listen', detail: { n: 1 } });
        // A row as an older version wrote it: the listen service's detail stored as a JSON string.
        await chained.sql.query(
          "INSERT INTO audit_log (provider, tenant, actor, action, detail) VALUES ($1, 'chain', 'session:old', 'listen.start', to_jsonb($2::text))",
          [P, JSON.stringify({ listener_id: 'legacy-1', session_id: 's0' })],
        );
        expect(await chained.auditChainState()).toMatchObject({ head: null, unchained: 2 });
        const used = await chained.useAuditChain({ key, onHead: (h) => void heads.push(h) });
        expect(used).toMatchObject({ sealed: 2, unchained: 0, first_unchained_id: null, head: { seq: '2' } });
        const rows = await chained.readAuditChain();
        expect(rows.map((r) => r.seq)).toEqual(['1', '2']);
        expect(rows[0]!.prev_hash).toBe(GENESIS_HASH);
        expect(rows[1]!.prev_hash).toBe(rows[0]!.hash);
        expect(rows.every(verifies)).toBe(true);
        expect(heads).toEqual([{ seq: '2', hash: rows[1]!.hash }]);
        // Sealed once: a chained row cannot be re-sealed, edited, deleted or truncated away.
        await expect(chained.sql.query("UPDATE audit_log SET seq = 9, prev_hash = $1, hash = $1 WHERE seq = 1", [hash(5)])).rejects.toThrow(/append-only/);
        await expect(chained.sql.query("UPDATE audit_log SET actor = 'x' WHERE seq = 2")).rejects.toThrow(/append-only/);
        await expect(chained.sql.query('DELETE FROM audit_log WHERE seq = 2')).rejects.toThrow(/append-only/);
        await expect(chained.sql.exec('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
      });

      it('appendAudit() with a key continues the chain: next seq, prev_hash = the previous hash, hash = HMAC of the row as read back', async () => {
        const a = await chained.appendAudit({ provider: P, tenant: 'chain', guild_id: 'g1', channel_id: 'c1', actor: 'mod', action: 'listen', token_id_hash: hash(3), detail: tricky });
        const b = await chained.appendAudit({ provider: 'slack', tenant: 'other', actor: 'mod', action: 'login' });
        expect([a.seq, b.seq]).toEqual(['3', '4']);
        expect(b.prev_hash).toBe(a.hash);
        const back = await chained.readAuditChain({ after_seq: '2' });
        expect(back).toEqual([a, b]);
        expect(back[0]!.detail).toEqual(tricky);
        expect(back.every(verifies)).toBe(true);
        expect(heads.at(-1)).toEqual({ seq: '4', hash: b.hash });
        // The listen service passes its detail as JSON text: it is stored as the object.
        const c = await chained.appendAudit({ provider: P, tenant: 'chain', actor: 'x', action: 'listen', detail: JSON.stringify({ listener_id: 'L' }) });
        expect(c.detail).toEqual({ listener_id: 'L' });
      });

      it('appendAudit() keeps seq gap-free under 60 concurrent appends from four store objects on one database', async () => {
        // Each SqlStore over the same client has its own in-process queue: only the database lock stands
        // between them (for PostgreSQL the pool gives them separate connections).
        const writers = [chained];
        for (let i = 0; i < 3; i++) {
          const twin = new SqlStore(chained.driver, chained.sql, chained.capabilities);
          await twin.useAuditChain({ key });
          writers.push(twin);
        }
        const before = (await chained.auditChainState()).head!;
        const writes = Array.from({ length: 60 }, (_, i) => writers[i % writers.length]!.appendAudit({ provider: P, tenant: 'race', actor: `w${i}`, action: 'listen' }));
        const got = await Promise.all(writes);
        const seqs = got.map((r) => Number(r.seq)).sort((x, y) => x - y);
        expect(seqs).toEqual(Array.from({ length: 60 }, (_, i) => Number(before.seq) + 1 + i));
        const all = await chained.readAuditChain({ limit: 10_000 });
        expect(all.map((r) => Number(r.seq))).toEqual(all.map((_, i) => i + 1));
        for (let i = 1; i < all.length; i++) expect(all[i]!.prev_hash).toBe(all[i - 1]!.hash);
        expect(all.every(verifies)).toBe(true);
        // listAudit() pages by id: numeric order, not text order, past id 9.
        const listed = (await chained.listAudit({ provider: P, tenant: 'race' })).map((r) => BigInt(r.id));
        expect(listed).toEqual([...listed].sort((x, y) => (x < y ? -1 : 1)));
        // Head notifications arrive in chain order.
        const headSeqs = heads.map((h) => Number(h.seq));
        expect(headSeqs).toEqual([...new Set(headSeqs)].sort((x, y) => x - y));
      });

      it('appendAudit() without the key is refused once the log has a chain', async () => {
        const keyless = new SqlStore(chained.driver, chained.sql, chained.capabilities);
        await expect(keyless.appendAudit({ provider: P, tenant: 'chain', actor: 'x', action: 'listen' })).rejects.toBeInstanceOf(InvalidStateError);
        await expect(keyless.useAuditChain({ key: Buffer.alloc(16) })).rejects.toBeInstanceOf(StoreInputError);
      });

      it('readAuditChain() filters by seq range and time, across tenants, in seq order', async () => {
        const all = await chained.readAuditChain({ limit: 10_000 });
        expect((await chained.readAuditChain({ after_seq: '2', through_seq: '4' })).map((r) => r.seq)).toEqual(['3', '4']);
        expect((await chained.readAuditChain({ limit: 2 })).map((r) => r.seq)).toEqual(['1', '2']);
        expect(await chained.readAuditChain({ since: new Date(Date.now() + 3_600_000) })).toEqual([]);
        expect((await chained.readAuditChain({ since: all[0]!.at, limit: 10_000 })).length).toBe(all.length);
        await expect(chained.readAuditChain({ since: 'yesterday' })).rejects.toBeInstanceOf(StoreInputError);
      });

      it('closeOpenListens() stops every listen.start without a listen.stop of the same listener, once', async () => {
        const start = (id: string, tenant = 'crash') => ({ provider: P, tenant, guild_id: 'g1', channel_id: 'c1', actor: `session:${id}`, action: 'listen.start', token_id_hash: hash(4), detail: JSON.stringify({ listener_id: id, session_id: 's1', role: 'moderator' }) });
        const open = await chained.appendAudit(start('open-1'));
        await chained.appendAudit(start('done-1'));
        await chained.appendAudit({ ...start('done-1'), action: 'listen.stop', detail: { listener_id: 'done-1', reason: 'stopped by the listener' } });
        const closed = await chained.closeOpenListens('server restarted');
        const byListener = new Map(closed.map((r) => [(r.detail as { listener_id: string }).listener_id, r]));
        expect([...byListener.keys()].sort()).toEqual(['legacy-1', 'open-1']);
        expect(byListener.get('open-1')).toMatchObject({
          provider: P, tenant: 'crash', guild_id: 'g1', channel_id: 'c1', actor: 'session:open-1', action: 'listen.stop', token_id_hash: hash(4),
          detail: { listener_id: 'open-1', session_id: 's1', reason: 'server restarted', start_seq: open.seq, start_id: open.id },
        });
        expect(byListener.get('legacy-1')).toMatchObject({ tenant: 'chain', detail: { listener_id: 'legacy-1', session_id: 's0', reason: 'server restarted' } });
        expect(closed.every(verifies)).toBe(true);
        expect(await chained.closeOpenListens('server restarted')).toEqual([]);
      });
    });

    it('tokens: put/get round-trips, a login token is consumed once, revoked and expired tokens are refused', async () => {
      const scope = [{ provider: P, tenant: 'demo', guild_id: 'g1' }];
      const expires_at = '2030-01-01T00:00:00.000Z';
      await store.putToken({ token_hash: hash(10), kind: 'login', role: 'owner', scope: [{ provider: '*', tenant: '*' }], expires_at });
      await store.putToken({ token_hash: hash(11), kind: 'session', role: 'moderator', scope, expires_at });
      await store.putToken({ token_hash: hash(12), kind: 'login', role: 'owner', scope, expires_at: '2020-01-01T00:00:00Z' });
      expect(await store.getToken(hash(11))).toMatchObject({ kind: 'session', role: 'moderator', scope, expires_at, used_at: null, revoked_at: null });
      await expect(store.putToken({ token_hash: hash(11), kind: 'session', role: 'owner', scope, expires_at })).rejects.toBeInstanceOf(StoreInputError);
      expect((await store.consumeToken(hash(10)))?.used_at).toEqual(expect.any(String));
      expect(await store.consumeToken(hash(10))).toBeUndefined();
      expect(await store.consumeToken(hash(11))).toBeUndefined();
      expect(await store.consumeToken(hash(12))).toBeUndefined();
      expect(await store.revokeToken(hash(11))).toBe(true);
      expect(await store.revokeToken(hash(11))).toBe(false);
      expect((await store.getToken(hash(11)))?.revoked_at).toEqual(expect.any(String));
      expect(await store.getToken(hash(99))).toBeUndefined();
      await expect(store.getToken('not-a-hash')).rejects.toBeInstanceOf(StoreInputError);
    });

    it('sessions: a tenant\'s valid sessions are listed with their invitation label, newest first; revoked, expired and other tenants\' are not', async () => {
      const future = '2030-01-01T00:00:00.000Z';
      await store.putToken({ token_hash: hash(40), kind: 'session', role: 'moderator', scope: [{ provider: '*', tenant: 'inv', guild_id: 'g1' }], expires_at: future, label: 'Ana (mod)' });
      await store.putToken({ token_hash: hash(41), kind: 'session', role: 'owner', scope: [{ provider: '*', tenant: 'inv' }], expires_at: future });
      await store.putToken({ token_hash: hash(42), kind: 'session', role: 'owner', scope: [{ provider: '*', tenant: 'inv' }], expires_at: '2020-01-01T00:00:00.000Z' });
      await store.putToken({ token_hash: hash(43), kind: 'session', role: 'owner', scope: [{ provider: '*', tenant: 'inv' }], expires_at: future });
      await store.putToken({ token_hash: hash(44), kind: 'session', role: 'owner', scope: [{ provider: '*', tenant: 'inv-other' }], expires_at: future });
      await store.putToken({ token_hash: hash(45), kind: 'login', role: 'moderator', scope: [{ provider: '*', tenant: 'inv' }], expires_at: future, label: 'Bo', session_ttl_s: 3600 });
      await store.revokeToken(hash(43));
      const list = await store.listSessions('inv');
      expect(list.map((t) => t.token_hash).sort()).toEqual([hash(40), hash(41)].sort());
      expect(list.find((t) => t.token_hash === hash(40))).toMatchObject({ label: 'Ana (mod)', role: 'moderator' });
      expect(await store.getToken(hash(45))).toMatchObject({ label: 'Bo', session_ttl_s: 3600 });
      await expect(store.listSessions('NOT A TENANT')).rejects.toBeInstanceOf(StoreInputError);
      await expect(store.putToken({ token_hash: hash(46), kind: 'login', role: 'owner', scope: [{ provider: '*', tenant: 'inv' }], expires_at: future, session_ttl_s: 5 })).rejects.toBeInstanceOf(StoreInputError);
    });

    it('vector search: nearest messages of one tenant by cosine distance, or UnsupportedError without pgvector', async () => {
      const v = new Float32Array(EMBEDDING_DIMENSIONS).fill(0.5);
      const key = { provider: P, tenant: 'vec', foreign_id: '0' };
      if (!store.capabilities.vector) {
        await expect(store.setMessageEmbedding(key, v, 'm')).rejects.toBeInstanceOf(UnsupportedError);
        await expect(store.searchMessages({ provider: P, tenant: 'vec' }, v, 3)).rejects.toBeInstanceOf(UnsupportedError);
        return;
      }
      const rand = seededRandom(7);
      const vectors = Array.from({ length: 30 }, () => Float32Array.from({ length: EMBEDDING_DIMENSIONS }, () => rand() * 2 - 1));
      await store.upsertMessages(vectors.map((_, i) => message('vec', i)));
      await store.upsertMessages([message('vec-other', 0)]);
      for (const [i, vec] of vectors.entries()) expect(await store.setMessageEmbedding({ ...key, foreign_id: String(i) }, vec, 'use-lite')).toBe(true);
      const query = vectors[3]!;
      // Another tenant holds the exact query vector: it must not leak into 'vec' results.
      expect(await store.setMessageEmbedding({ ...key, tenant: 'vec-other' }, query, 'use-lite')).toBe(true);
      expect(await store.setMessageEmbedding({ ...key, foreign_id: 'missing' }, query, 'use-lite')).toBe(false);
      const expected = vectors.map((vec, i) => ({ id: String(i), d: cosineDistance(query, vec) })).sort((a, b) => a.d - b.d).slice(0, 5);
      const got = await store.searchMessages({ provider: P, tenant: 'vec' }, query, 5);
      expect(got.map((m) => m.message.foreign_id)).toEqual(expected.map((e) => e.id));
      for (const [i, m] of got.entries()) expect(m.distance).toBeCloseTo(expected[i]!.d, 4);
      expect(got.every((m) => m.message.tenant === 'vec')).toBe(true);
      await expect(store.searchMessages({ provider: P, tenant: 'vec' }, new Float32Array(3).fill(1), 5)).rejects.toBeInstanceOf(StoreInputError);
      await expect(store.searchMessages({ provider: P, tenant: 'vec' }, new Float32Array(EMBEDDING_DIMENSIONS), 5)).rejects.toBeInstanceOf(StoreInputError);
    });

    it('close() waits for a call in flight, is idempotent, and every later call rejects with InvalidStateError', async () => {
      const s = await create();
      await s.migrate();
      const pending = s.upsertMessages(Array.from({ length: 2000 }, (_, i) => message('closing', i)));
      const closing = s.close();
      expect(s.close()).toBe(closing);
      expect(s.closed).toBe(true);
      expect(await pending).toEqual({ inserted: 2000, updated: 0, unchanged: 0 });
      await closing;
      const scope = { provider: P, tenant: 'closing' };
      const calls: (() => Promise<unknown>)[] = [
        () => s.migrate(),
        () => s.upsertMessages([message('closing', 1)]),
        () => s.getMessage({ ...scope, foreign_id: '1' }),
        () => s.countMessages(scope),
        () => s.putTranscriptSegment({ ...scope, session_id: 's', segment_id: '1', speaker_id: 'u', text: '', start_ns: '0', end_ns: '0' }),
        () => s.appendAudit({ ...scope, actor: 'a', action: 'listen' }),
        () => s.listAudit(scope),
        () => s.getToken(hash(1)),
        () => s.searchMessages(scope, new Float32Array(EMBEDDING_DIMENSIONS).fill(1), 1),
      ];
      for (const call of calls) await expect(call()).rejects.toBeInstanceOf(InvalidStateError);
    });
  });
}
