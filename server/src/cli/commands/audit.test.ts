import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startAuditLog } from '../../audit/index.ts';
import { removeRuntimeFile, writeRuntimeFile } from '../../hub/index.ts';
import { openPgliteStore } from '../../store/index.ts';
import { main } from '../main.ts';
import { parseSince } from './audit.ts';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  return { out, err };
}

let dataDir: string;

/** Opens the data directory's database as the server does, runs `fn`, closes it. */
async function withStore<T>(fn: (store: Awaited<ReturnType<typeof openPgliteStore>>) => Promise<T>): Promise<T> {
  const store = await openPgliteStore({ dataDir: join(dataDir, 'pglite'), vector: false });
  try {
    await store.migrate();
    return await fn(store);
  } finally {
    await store.close();
  }
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'promethean-audit-cli-'));
  await withStore(async (store) => {
    await startAuditLog(store, { dataDir, log: () => undefined });
    for (const [i, action] of ['listen.start', 'listen.stop', 'listen.start', 'listen.stop'].entries()) {
      await store.appendAudit({ provider: 'discord', tenant: 'demo', guild_id: 'g1', actor: 'session:abc', action, detail: { listener_id: `L${Math.floor(i / 2)}` } });
    }
  });
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('promethean audit', () => {
  it('verify exits 0 with a one-line summary for an intact log', async () => {
    vi.stubEnv('DATABASE_URL', '');
    const { out, err } = capture();
    expect(await main(['audit', 'verify', '--data-dir', dataDir])).toBe(0);
    expect(out).toEqual([expect.stringMatching(/^audit log OK: 4 rows chained \(seq 1 to 4, head [0-9a-f]{16}…\)$/)]);
    expect(err).toEqual([]);
  });

  it('export writes the rows since a time as JSON lines (0600) and records the export, which verify then covers', async () => {
    vi.stubEnv('DATABASE_URL', '');
    const file = join(dataDir, 'export.jsonl');
    const { err } = capture();
    expect(await main(['audit', 'export', '--since', '2000-01-01', '--out', file, '--data-dir', dataDir])).toBe(0);
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.seq)).toEqual(['1', '2', '3', '4']);
    expect(lines[0]).toMatchObject({ id: '1', provider: 'discord', tenant: 'demo', guild_id: 'g1', actor: 'session:abc', action: 'listen.start', detail: { listener_id: 'L0' } });
    expect(Object.keys(lines[0]!)).toEqual(['seq', 'id', 'at', 'provider', 'tenant', 'guild_id', 'channel_id', 'actor', 'action', 'token_id_hash', 'detail', 'prev_hash', 'hash']);
    expect(lines[1]!.prev_hash).toBe(lines[0]!.hash);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(err.join('\n')).toContain('exported 4 audit rows since 2000-01-01T00:00:00.000Z (through seq 4)');
    const exports = await withStore((store) => store.listAudit({ provider: 'promethean', tenant: 'system' }));
    expect(exports).toHaveLength(1);
    expect(exports[0]).toMatchObject({
      seq: '5', action: 'audit.export', actor: expect.stringMatching(/^cli:/),
      detail: { since: '2000-01-01T00:00:00.000Z', through_seq: '4', to: file, pid: process.pid },
    });
    const { out } = capture();
    expect(await main(['audit', 'verify', '--data-dir', dataDir])).toBe(0);
    expect(out.join('\n')).toContain('5 rows chained');
  });

  it('export writes to stdout by default, and nothing from before --since', async () => {
    vi.stubEnv('DATABASE_URL', '');
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string, cb?: (e?: Error) => void) => {
      written.push(chunk);
      cb?.();
      return true;
    }) as typeof process.stdout.write);
    const { err } = capture();
    expect(await main(['audit', 'export', '--since', '2999-01-01T00:00:00Z', '--data-dir', dataDir])).toBe(0);
    expect(written.join('')).toBe('');
    expect(err.join('\n')).toContain('exported 0 audit rows');
    written.length = 0;
    expect(await main(['audit', 'export', '--since', '2000-01-01T00:00:00+02:00', '--data-dir', dataDir])).toBe(0);
    expect(written.join('').trimEnd().split('\n').map((l) => (JSON.parse(l) as { action: string }).action)).toEqual([
      'listen.start', 'listen.stop', 'listen.start', 'listen.stop', 'audit.export', 'audit.export',
    ]);
  });

  it('verify exits 1 naming an edited row', async () => {
    vi.stubEnv('DATABASE_URL', '');
    await withStore(async (store) => {
      await store.sql.exec("ALTER TABLE audit_log DISABLE TRIGGER USER; UPDATE audit_log SET actor = 'session:nobody' WHERE seq = 2; ALTER TABLE audit_log ENABLE TRIGGER USER;");
    });
    const { out, err } = capture();
    expect(await main(['audit', 'verify', '--data-dir', dataDir])).toBe(1);
    expect(out).toEqual([]);
    expect(err.join('\n')).toMatch(/FAILED verification: row seq 2 \(id 2, .*listen\.stop by session:nobody\): hash mismatch/);
    // --reset-head does not paper over rows that fail.
    expect(await main(['audit', 'verify', '--reset-head', '--data-dir', dataDir])).toBe(1);
  });

  it('refuses to open PGlite while the server of that data directory runs', async () => {
    vi.stubEnv('DATABASE_URL', '');
    await writeRuntimeFile(dataDir, { hub_url: 'ws://127.0.0.1:9/bus', key_file: join(dataDir, 'agent.key'), pid: process.ppid, started_at: new Date().toISOString() });
    try {
      const { err } = capture();
      expect(await main(['audit', 'verify', '--data-dir', dataDir])).toBe(1);
      expect(err.join('\n')).toContain(`a server (pid ${process.ppid}) is running`);
    } finally {
      await removeRuntimeFile(dataDir, process.ppid);
    }
  });

  it('fails clearly without a key or a database, and exits 2 on bad flags', async () => {
    vi.stubEnv('DATABASE_URL', '');
    const empty = await mkdtemp(join(tmpdir(), 'promethean-audit-empty-'));
    try {
      const { err } = capture();
      expect(await main(['audit', 'verify', '--data-dir', empty])).toBe(1);
      expect(err.join('\n')).toContain('no audit key');
      expect(await main(['audit', 'export', '--since', '2026-01-01', '--data-dir', empty])).toBe(1);
      expect(err.filter((l) => l.includes('no audit key'))).toHaveLength(2);
      expect(existsSync(join(empty, 'keys', 'audit.key'))).toBe(false);
      expect(await main(['audit', 'export', '--since', 'yesterday', '--data-dir', empty])).toBe(2);
      expect(err.join('\n')).toContain('--since must be an ISO 8601 date');
      expect(await main(['audit', 'export', '--data-dir', empty])).toBe(2);
      expect(await main(['audit'])).toBe(2);
      expect(await main(['audit', 'shred'])).toBe(2);
      expect(err.join('\n')).toContain('unknown subcommand "shred"');
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe('parseSince()', () => {
  it('takes a date (UTC midnight) or a date-time with an offset, and nothing else', () => {
    expect(parseSince('2026-01-31')).toBe('2026-01-31T00:00:00.000Z');
    expect(parseSince('2026-01-31T09:00:00+01:00')).toBe('2026-01-31T08:00:00.000Z');
    expect(parseSince('2026-01-31T09:00Z')).toBe('2026-01-31T09:00:00.000Z');
    for (const bad of ['2026-01-31T09:00:00', 'now', '1706659200', '2026-13-01']) expect(() => parseSince(bad)).toThrow(/--since/);
  });
});
