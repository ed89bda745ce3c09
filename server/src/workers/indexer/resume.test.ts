import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusClient, makeEnvelope, type Envelope } from '@promethean/shared';
import { createHub, type Hub } from '../../hub/index.ts';
import { openPostgresStore } from '../../store/postgres.ts';
import { requires } from '../../../../test/support/requires.ts';
import { hasPostgres, startPostgres, POSTGRES_INSTALL_HINT, type RunningPostgres } from '../../../../test/support/postgres.ts';
import { startStandin, type Standin } from '../../../../test/standin/src/standin.ts';
import { FakeRestAgent } from './fake-rest-agent.ts';
import { eventually } from '../../../../test/support/until.ts';

const available = requires('PostgreSQL 15 server', hasPostgres(), POSTGRES_INSTALL_HINT);
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

describe.skipIf(!available)('message indexer process: a backfill resumes from its cursor after the process is killed', () => {
  let pg: RunningPostgres;
  let hub: Hub;
  let standin: Standin;
  let agentBus: BusClient;
  let producer: BusClient;
  let fake: FakeRestAgent;
  const seen: Envelope[] = [];
  const children = new Set<ChildProcess>();

  function startWorker(): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: {
        PATH: process.env.PATH ?? '', PROMETHEAN_HUB_URL: hub.url, PROMETHEAN_AGENT_TOKEN_FILE: hub.agentKeyFile,
        DATABASE_URL: pg.url, PROMETHEAN_LOG_LEVEL: 'silent',
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.add(child);
    child.once('exit', () => children.delete(child));
    return new Promise((resolve, reject) => {
      child.once('message', (m) => ((m as { type?: string }).type === 'ready' ? resolve(child) : reject(new Error(`unexpected message ${JSON.stringify(m)}`))));
      child.once('exit', (code) => reject(new Error(`indexer exited with ${code} before ready`)));
    });
  }

  beforeAll(async () => {
    pg = await startPostgres({ database: 'indexer_resume' });
    hub = await createHub({ dataDir: mkdtempSync(join(tmpdir(), 'indexer-resume-')), writeRuntimeFile: false });
    standin = await startStandin();
    agentBus = new BusClient({ url: hub.url, token: hub.agentKey });
    producer = new BusClient({ url: hub.url, token: hub.agentKey });
    await Promise.all([agentBus.connect(), producer.connect()]);
    const sub = producer.subscribe('promethean.p.*.t.*.jobs.backfill.messages.>', (env) => void seen.push(env));
    await sub.ready;
    fake = new FakeRestAgent(agentBus, standin.restApi);
    fake.start();
  }, 120_000);

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    fake?.stop();
    agentBus?.close();
    producer?.close();
    await standin?.close();
    await hub?.close();
    await pg?.stop();
  });

  it('SIGKILL after the first progress; a new process continues from next_before and stores every message once', async () => {
    const channel = standin.text.createTextChannel('resume');
    standin.text.seedHistory(channel.id, 3000);
    const first = await startWorker();
    producer.publish(makeEnvelope('jobs.backfill.messages.enqueue', { job_id: 'resume-1', channel_id: channel.id, limit: 100_000 }, { src: 'cli', provider: 'discord', tenant: 'demo' }));
    await eventually(() => seen.some((e) => e.intent === 'jobs.backfill.messages.progress'), 'the first progress');
    const exited = new Promise((r) => first.once('exit', r));
    first.kill('SIGKILL');
    await exited;

    const store = await openPostgresStore({ url: pg.url });
    const saved = await store.getBackfillJob({ provider: 'discord', tenant: 'demo', job_id: 'resume-1' });
    await store.close();
    expect(saved).toMatchObject({ status: 'running' });
    expect(saved!.fetched).toBeGreaterThanOrEqual(100);
    expect(saved!.fetched).toBeLessThan(3000);
    expect(seen.some((e) => e.intent === 'jobs.backfill.messages.done')).toBe(false);

    const callsAtRestart = fake.calls.length;
    await startWorker();
    const done = await eventually(() => seen.find((e) => e.intent === 'jobs.backfill.messages.done'), 'done after the restart');
    expect(done.payload).toMatchObject({ job_id: 'resume-1', fetched: 3000, reason: 'exhausted' });
    expect((done.payload as { duplicates: number }).duplicates).toBeLessThanOrEqual(100);
    const pagesAfter = fake.calls.slice(callsAtRestart).filter((c) => c.url.includes('/messages'));
    expect(pagesAfter[0]!.url).toContain(`before=${saved!.next_before}`);
    expect(pagesAfter.length).toBe(Math.ceil((3000 - saved!.fetched) / 100) + ((3000 - saved!.fetched) % 100 === 0 ? 1 : 0));

    const check = await openPostgresStore({ url: pg.url });
    try {
      const r = await check.sql.query<{ n: number; d: number }>('SELECT count(*)::int AS n, count(DISTINCT foreign_id)::int AS d FROM messages WHERE tenant = $1 AND channel_id = $2', ['demo', channel.id]);
      expect({ n: Number(r.rows[0]!.n), d: Number(r.rows[0]!.d) }).toEqual({ n: 3000, d: 3000 });
    } finally {
      await check.close();
    }
  });
});
