import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditHead, SqlStore } from '../store/index.ts';
import { GENESIS_HASH, auditHash } from '../store/index.ts';
import { pgliteTemplate, type PgliteTemplate } from '../store/testing.ts';
import { describeVerifyResult, verifyAuditChain } from './verify.ts';

const KEY = Buffer.alloc(32, 1);
const OTHER_KEY = Buffer.alloc(32, 2);
let template: PgliteTemplate;

beforeAll(async () => {
  template = await pgliteTemplate();
});
afterAll(async () => {
  await template?.close();
});

/** A fresh PGlite log of `n` chained rows; `head` is what the head file would hold. */
async function chainOf(n: number): Promise<{ store: SqlStore; head: AuditHead }> {
  const store = await template.fresh();
  let head: AuditHead | undefined;
  await store.useAuditChain({ key: KEY, onHead: (h) => void (head = h) });
  for (let i = 1; i <= n; i++) {
    await store.appendAudit({
      provider: 'discord', tenant: 'demo', guild_id: 'g1', channel_id: 'c1', actor: `session:${i}`,
      action: i % 2 === 1 ? 'listen.start' : 'listen.stop', detail: { listener_id: `L${Math.ceil(i / 2)}` },
    });
  }
  return { store, head: head! };
}

/** Runs SQL as a superuser would: with the append-only triggers switched off. */
async function tamper(store: SqlStore, sql: string, params: unknown[] = []): Promise<void> {
  await store.sql.transaction(async (tx) => {
    await tx.exec('ALTER TABLE audit_log DISABLE TRIGGER USER');
    await tx.query(sql, params);
    await tx.exec('ALTER TABLE audit_log ENABLE TRIGGER USER');
  });
}

/** Rewrites every row from `fromSeq` on as someone holding another key would: renumbered, relinked, re-signed. */
async function rebuild(store: SqlStore, key: Uint8Array, fromSeq: number): Promise<void> {
  const rows = await store.readAuditChain({ limit: 10_000 });
  let prev = fromSeq > 1 ? rows[fromSeq - 2]!.hash! : GENESIS_HASH;
  let seq = fromSeq;
  for (const row of rows.filter((r) => Number(r.seq) >= fromSeq)) {
    const hash = auditHash(key, { ...row, seq: String(seq), prev_hash: prev });
    await tamper(store, 'UPDATE audit_log SET seq = $1, prev_hash = $2, hash = $3 WHERE id = $4', [seq, prev, hash, row.id]);
    prev = hash;
    seq++;
  }
}

describe('verifyAuditChain()', () => {
  it('passes an intact chain and says how many rows it checked', async () => {
    const { store, head } = await chainOf(6);
    const r = await verifyAuditChain(store, KEY, { headFile: head });
    expect(r).toMatchObject({ ok: true, rows: 6, head, problem: undefined, notes: [] });
    expect(describeVerifyResult(r)).toMatch(/^audit log OK: 6 rows chained \(seq 1 to 6, head [0-9a-f]{16}…\)$/);
  });

  it('passes an empty log with no head file', async () => {
    const store = await template.fresh();
    expect(await verifyAuditChain(store, KEY)).toMatchObject({ ok: true, rows: 0, head: null });
  });

  it('names an edited row: hash mismatch', async () => {
    const { store, head } = await chainOf(6);
    await tamper(store, "UPDATE audit_log SET actor = 'session:someone-else' WHERE seq = 3");
    const r = await verifyAuditChain(store, KEY, { headFile: head });
    expect(r.problem).toMatchObject({ kind: 'edited', seq: '3' });
    expect(describeVerifyResult(r)).toContain('row seq 3 (id 3');
    expect(describeVerifyResult(r)).toContain('hash mismatch');
  });

  it('names an edited detail and an edited hash column alike', async () => {
    const { store, head } = await chainOf(4);
    await tamper(store, `UPDATE audit_log SET detail = '{"listener_id":"L9"}' WHERE seq = 2`);
    expect((await verifyAuditChain(store, KEY, { headFile: head })).problem).toMatchObject({ kind: 'edited', seq: '2' });
    const other = await chainOf(4);
    await tamper(other.store, `UPDATE audit_log SET hash = $1 WHERE seq = 4`, ['a'.repeat(64)]);
    expect((await verifyAuditChain(other.store, KEY, { headFile: other.head })).problem).toMatchObject({ kind: 'edited', seq: '4' });
  });

  it('names the row after a deleted one: seq gap', async () => {
    const { store, head } = await chainOf(6);
    await tamper(store, 'DELETE FROM audit_log WHERE seq = 3');
    const r = await verifyAuditChain(store, KEY, { headFile: head });
    expect(r.problem).toMatchObject({ kind: 'deleted', seq: '4' });
    expect(r.problem!.message).toContain('seq 3 is missing');
  });

  it('names the row whose prev_hash no longer links when a deleted row is hidden by renumbering', async () => {
    const { store, head } = await chainOf(6);
    await tamper(store, 'DELETE FROM audit_log WHERE seq = 3');
    await tamper(store, 'UPDATE audit_log SET seq = seq - 1 WHERE seq > 3');
    const r = await verifyAuditChain(store, KEY, { headFile: head });
    expect(r.problem).toMatchObject({ kind: 'deleted', seq: '3' });
    expect(r.problem!.message).toContain('prev_hash');
  });

  it('reports rows cut from the end against the head file: truncated', async () => {
    const { store, head } = await chainOf(6);
    await tamper(store, 'DELETE FROM audit_log WHERE seq > 4');
    const r = await verifyAuditChain(store, KEY, { headFile: head });
    expect(r.problem).toMatchObject({ kind: 'truncated', seq: '6' });
    expect(r.problem!.message).toContain('rows seq 5 to 6 were removed');
    await tamper(store, 'DELETE FROM audit_log');
    expect((await verifyAuditChain(store, KEY, { headFile: head })).problem).toMatchObject({ kind: 'truncated', seq: '6' });
  });

  it('names the first row of a chain rebuilt with another key', async () => {
    const { store, head } = await chainOf(5);
    await rebuild(store, OTHER_KEY, 1);
    const r = await verifyAuditChain(store, KEY, { headFile: head });
    expect(r.problem).toMatchObject({ kind: 'rekeyed', seq: '1' });
    expect(describeVerifyResult(r)).toContain('rebuilt with another key from seq 1');
    // The rebuilt chain is consistent in itself: with the other key it would pass, but for the head file.
    const forged = await verifyAuditChain(store, OTHER_KEY, { headFile: head });
    expect(forged.problem?.kind).toBe('head_mismatch');
  });

  it('names the first rewritten row when a row was deleted and the rest rebuilt with another key', async () => {
    const { store, head } = await chainOf(6);
    await tamper(store, 'DELETE FROM audit_log WHERE seq = 3');
    await rebuild(store, OTHER_KEY, 3);
    expect((await verifyAuditChain(store, KEY, { headFile: head })).problem).toMatchObject({ kind: 'rekeyed', seq: '3' });
  });

  it('fails when the head file names another hash at its seq, or is missing while the chain has rows', async () => {
    const { store, head } = await chainOf(3);
    expect((await verifyAuditChain(store, KEY, { headFile: { seq: head.seq, hash: 'f'.repeat(64) } })).problem).toMatchObject({ kind: 'head_mismatch', seq: '3' });
    expect((await verifyAuditChain(store, KEY, { headFile: undefined })).problem).toMatchObject({ kind: 'head_missing' });
    expect((await verifyAuditChain(store, KEY, { headFile: undefined, ignoreHead: true })).ok).toBe(true);
  });

  it('accepts a head file behind the table when its row matches, with a note', async () => {
    const { store } = await chainOf(4);
    const [row2] = await store.readAuditChain({ after_seq: '1', limit: 1 });
    const r = await verifyAuditChain(store, KEY, { headFile: { seq: '2', hash: row2!.hash! } });
    expect(r.ok).toBe(true);
    expect(r.notes[0]).toContain('2 row(s) behind');
  });

  it('names a row inserted without the key: unchained', async () => {
    const { store, head } = await chainOf(2);
    await store.sql.query("INSERT INTO audit_log (provider, tenant, actor, action) VALUES ('discord', 'demo', 'intruder', 'listen.stop')");
    const r = await verifyAuditChain(store, KEY, { headFile: head });
    expect(r.problem).toMatchObject({ kind: 'unchained', id: '3' });
  });

  it('reads the chain in pages without losing its thread', async () => {
    const { store, head } = await chainOf(7);
    expect(await verifyAuditChain(store, KEY, { headFile: head, pageSize: 2 })).toMatchObject({ ok: true, rows: 7 });
    await tamper(store, 'DELETE FROM audit_log WHERE seq = 5');
    expect((await verifyAuditChain(store, KEY, { headFile: head, pageSize: 2 })).problem).toMatchObject({ kind: 'deleted', seq: '6' });
  });
});
