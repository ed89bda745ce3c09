/** `promethean transcripts delete` on a real PGlite data directory with its audit chain. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startAuditLog } from '../../audit/index.ts';
import { openPgliteStore, type TranscriptInput } from '../../store/index.ts';
import { main } from '../main.ts';

const ALICE = '1300000000000000001';
const BOB = '1300000000000000002';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  return { out, err };
}

let dataDir: string;

async function withStore<T>(fn: (store: Awaited<ReturnType<typeof openPgliteStore>>) => Promise<T>): Promise<T> {
  const store = await openPgliteStore({ dataDir: join(dataDir, 'pglite'), vector: false });
  try {
    await store.migrate();
    return await fn(store);
  } finally {
    await store.close();
  }
}

const line = (tenant: string, segment: string, speaker: string): TranscriptInput => ({
  provider: 'discord', tenant, session_id: 'g1-c1', segment_id: segment, speaker_id: speaker, text: `line ${segment}`,
  start_ns: '1000000000', end_ns: '2000000000', final: true,
});

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'promethean-transcripts-cli-'));
  await withStore(async (store) => {
    await startAuditLog(store, { dataDir, log: () => undefined });
    await store.upsertTranscript(line('demo', 'a', ALICE));
    await store.upsertTranscript(line('demo', 'b', ALICE));
    await store.upsertTranscript(line('demo', 'c', BOB));
    await store.upsertTranscript(line('other', 'd', ALICE));
  });
}, 60_000);
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('promethean transcripts delete', () => {
  it('refuses without --yes, without --user and with a malformed id (exit 2), deleting nothing', async () => {
    vi.stubEnv('DATABASE_URL', '');
    const { err } = capture();
    expect(await main(['transcripts', 'delete', '--user', ALICE, '--data-dir', dataDir])).toBe(2);
    expect(err.join('\n')).toMatch(/add --yes to confirm/);
    expect(await main(['transcripts', 'delete', '--yes', '--data-dir', dataDir])).toBe(2);
    expect(await main(['transcripts', 'delete', '--user', 'a b', '--yes', '--data-dir', dataDir])).toBe(2);
    expect(await main(['transcripts', 'delete', '--user', ALICE, '--tenant', 'Bad Tenant', '--yes', '--data-dir', dataDir])).toBe(2);
    expect(await main(['transcripts', 'purge'])).toBe(2);
    await withStore(async (store) => {
      expect(await store.listTranscripts({ provider: 'discord', tenant: 'demo', session_id: 'g1-c1' })).toHaveLength(3);
      expect((await store.listAudit({ provider: 'discord', tenant: 'demo' })).filter((r) => r.action.startsWith('transcripts.'))).toEqual([]);
    });
  });

  it('deletes the user’s lines in one tenant, records the request before and the count after, and the chain still verifies', async () => {
    vi.stubEnv('DATABASE_URL', '');
    const { out } = capture();
    expect(await main(['transcripts', 'delete', '--user', ALICE, '--yes', '--data-dir', dataDir])).toBe(0);
    expect(out).toEqual([expect.stringMatching(new RegExp(`^deleted 2 transcript lines of user ${ALICE} in discord/demo; recorded as audit seq \\d+ and \\d+$`))]);
    await withStore(async (store) => {
      expect((await store.listTranscripts({ provider: 'discord', tenant: 'demo', session_id: 'g1-c1' })).map((r) => r.speaker_id)).toEqual([BOB]);
      expect(await store.getTranscript({ provider: 'discord', tenant: 'other', foreign_id: 'g1-c1:d' })).toBeDefined();
      const rows = (await store.listAudit({ provider: 'discord', tenant: 'demo' })).filter((r) => r.action.startsWith('transcripts.'));
      const asked = rows.find((r) => r.action === 'transcripts.delete')!;
      const done = rows.find((r) => r.action === 'transcripts.deleted')!;
      expect(asked.actor).toMatch(/^cli:/);
      expect(asked.detail).toMatchObject({ user_id: ALICE, scope: { kind: 'tenant' }, via: 'cli' });
      expect(done.detail).toMatchObject({ user_id: ALICE, deleted: 2, request_audit_id: asked.id });
      expect(BigInt(done.seq!)).toBe(BigInt(asked.seq!) + 1n);
    });
    capture();
    expect(await main(['audit', 'verify', '--data-dir', dataDir])).toBe(0);
  });
});
