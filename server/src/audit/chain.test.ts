import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openPgliteStore } from '../store/index.ts';
import type { SqlStore } from '../store/index.ts';
import { pgliteTemplate, type PgliteTemplate } from '../store/testing.ts';
import { openAuditChain, startAuditLog } from './chain.ts';
import { AuditHeadFile, auditHeadPath } from './head.ts';
import { auditKeyPath, readAuditKey } from './key.ts';
import { verifyAuditChain } from './verify.ts';

let dataDir: string;
let logs: string[];
const log = (line: string) => void logs.push(line);
const stores: SqlStore[] = [];
let template: PgliteTemplate;

beforeAll(async () => {
  template = await pgliteTemplate();
});
afterAll(async () => {
  await template?.close();
});
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'promethean-audit-'));
  logs = [];
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await rm(dataDir, { recursive: true, force: true });
});

function memoryStore(): Promise<SqlStore> {
  return template.fresh();
}

const listenStart = (listener: string) => ({
  provider: 'discord', tenant: 'demo', guild_id: 'g1', channel_id: 'c1', actor: 'session:abc', action: 'listen.start',
  detail: JSON.stringify({ listener_id: listener, session_id: 'voice-1', role: 'moderator', user_ids: [] }),
});

describe('openAuditChain()', () => {
  it('creates the key (0600 in a 0700 folder) on first start and writes the head file (0600) after each append', async () => {
    const store = await memoryStore();
    const started = await openAuditChain(store, { dataDir, log });
    expect(started).toMatchObject({ head: null, sealed: 0, frozen: undefined });
    expect((await stat(auditKeyPath(dataDir))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dataDir, 'keys'))).mode & 0o777).toBe(0o700);
    expect(logs.join('\n')).toContain('created the audit chain key');
    const key = (await readFile(auditKeyPath(dataDir), 'utf8')).trim();
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    const row = await store.appendAudit(listenStart('L1'));
    expect(await new AuditHeadFile(dataDir).read()).toEqual({ seq: row.seq, hash: row.hash });
    expect((await stat(auditHeadPath(dataDir))).mode & 0o777).toBe(0o600);
    // The key is never in the database.
    const found = await store.sql.query(`SELECT count(*)::int AS n FROM audit_log WHERE detail::text LIKE $1 OR hash = $2`, [`%${key}%`, key]);
    expect(found.rows[0]).toEqual({ n: 0 });
    // A second start keeps the key.
    await openAuditChain(store, { dataDir, log });
    expect((await readFile(auditKeyPath(dataDir), 'utf8')).trim()).toBe(key);
  });

  it('chains the rows written before the chain at the first start and records their head', async () => {
    const store = await memoryStore();
    for (let i = 0; i < 12; i++) await store.appendAudit({ provider: 'discord', tenant: 'demo', actor: `old${i}`, action: 'listen' });
    const started = await openAuditChain(store, { dataDir, log });
    expect(started).toMatchObject({ sealed: 12, head: { seq: '12' } });
    expect((await store.readAuditChain({ limit: 100 })).map((r) => r.actor)).toEqual(Array.from({ length: 12 }, (_, i) => `old${i}`));
    expect(await new AuditHeadFile(dataDir).read()).toEqual(started.head);
    const { key } = await readAuditKey(dataDir);
    expect(await verifyAuditChain(store, key, { headFile: started.head! })).toMatchObject({ ok: true, rows: 12 });
  });

  it('freezes a head file that is ahead of the table: it stays as evidence and verify keeps failing', async () => {
    const store = await memoryStore();
    await openAuditChain(store, { dataDir, log });
    await store.appendAudit(listenStart('L1'));
    const forged = { seq: '9', hash: 'e'.repeat(64) };
    await new AuditHeadFile(dataDir).write(forged);
    const started = await openAuditChain(store, { dataDir, log });
    expect(started.frozen).toContain('ends at seq 9');
    expect(logs.join('\n')).toContain('WARNING');
    await store.appendAudit(listenStart('L2'));
    expect(await new AuditHeadFile(dataDir).read()).toEqual(forged);
    const { key } = await readAuditKey(dataDir);
    expect((await verifyAuditChain(store, key, { headFile: forged })).problem?.kind).toBe('truncated');
  });

  it('does not chain rows from before the chain while the head file says a chain existed', async () => {
    const store = await memoryStore();
    await store.appendAudit({ provider: 'discord', tenant: 'demo', actor: 'planted', action: 'listen' });
    await new AuditHeadFile(dataDir).write({ seq: '5', hash: 'd'.repeat(64) });
    const started = await openAuditChain(store, { dataDir, log });
    expect(started).toMatchObject({ sealed: 0 });
    expect(started.frozen).toBeDefined();
    expect(await store.auditChainState()).toMatchObject({ unchained: 1 });
  });

  it('brings a head file left behind by a crash up to the table', async () => {
    const store = await memoryStore();
    await openAuditChain(store, { dataDir, log });
    const first = await store.appendAudit(listenStart('L1'));
    const headFile = new AuditHeadFile(dataDir);
    await headFile.write({ seq: first.seq!, hash: first.hash! });
    // Appended while the head file was not kept (as if the process died between commit and write).
    await store.useAuditChain({ key: (await readAuditKey(dataDir)).key });
    const second = await store.appendAudit(listenStart('L2'));
    const started = await openAuditChain(store, { dataDir, log });
    expect(started.frozen).toBeUndefined();
    expect(await headFile.read()).toEqual({ seq: second.seq, hash: second.hash });
  });

  it('refuses a head file that is not one', async () => {
    await writeFile(auditHeadPath(dataDir), '{"seq": 3}');
    await expect(new AuditHeadFile(dataDir).read()).rejects.toThrow(/format/);
    const store = await memoryStore();
    const started = await openAuditChain(store, { dataDir, log });
    expect(started.frozen).toContain('cannot be read');
  });
});

describe('startAuditLog()', () => {
  it('closes the listens a crash left open with a listen.stop "server restarted", once', async () => {
    const pglite = join(dataDir, 'pglite');
    const first = await openPgliteStore({ dataDir: pglite, vector: false });
    await first.migrate();
    await startAuditLog(first, { dataDir, log });
    const open = await first.appendAudit(listenStart('crashed-listener'));
    await first.appendAudit(listenStart('stopped-listener'));
    await first.appendAudit({ ...listenStart('stopped-listener'), action: 'listen.stop', detail: { listener_id: 'stopped-listener', reason: 'stopped by the listener' } });
    await first.close(); // the process dies: no listen.stop for crashed-listener

    const second = await openPgliteStore({ dataDir: pglite, vector: false });
    stores.push(second);
    await second.migrate();
    await startAuditLog(second, { dataDir, log });
    const stops = (await second.listAudit({ provider: 'discord', tenant: 'demo' })).filter((r) => r.action === 'listen.stop');
    expect(stops.map((r) => r.detail)).toEqual([
      { listener_id: 'stopped-listener', reason: 'stopped by the listener' },
      { listener_id: 'crashed-listener', session_id: 'voice-1', reason: 'server restarted', start_seq: open.seq, start_id: open.id },
    ]);
    expect(logs.join('\n')).toContain('closed 1 listen(s) left open');
    await startAuditLog(second, { dataDir, log });
    expect((await second.listAudit({ provider: 'discord', tenant: 'demo' })).filter((r) => r.action === 'listen.stop')).toHaveLength(2);
    const { key } = await readAuditKey(dataDir);
    expect(await verifyAuditChain(second, key, { headFile: await new AuditHeadFile(dataDir).read() })).toMatchObject({ ok: true, rows: 4 });
  });
});
