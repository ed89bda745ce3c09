import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEnvelope, PrometheanError } from '@promethean/shared';
import { AgentRuntime, InProcessBus } from '@promethean/shared/node';
import { pgliteTemplate, type PgliteTemplate } from '../../store/testing.ts';
import type { SqlStore } from '../../store/sqlStore.ts';
import { parseRetention } from './retention.ts';
import { IndexerWorker } from './worker.ts';

describe('parseRetention()', () => {
  it('reads provider/tenant=days pairs and a * default', () => {
    expect(parseRetention('discord/demo=30, discord/acme=0.5,*=365')).toEqual({ 'discord/demo': 30, 'discord/acme': 0.5, '*': 365 });
    expect(parseRetention(undefined)).toEqual({});
    expect(parseRetention('  ')).toEqual({});
  });

  it.each([
    ['demo=30', 'is not provider/tenant=days'],
    ['discord/demo=-1', 'is not provider/tenant=days'],
    ['discord/demo=0', 'positive number of days'],
    ['discord/demo=1,discord/demo=2', 'appears twice'],
    ['discord/Demo=3', 'is not provider/tenant=days'],
  ])('refuses %s with bad_config naming the variable', (text, message) => {
    const err = (() => {
      try {
        parseRetention(text);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(PrometheanError);
    expect((err as PrometheanError).code).toBe('bad_config');
    expect((err as Error).message).toContain('PROMETHEAN_INDEXER_RETENTION');
    expect((err as Error).message).toContain(message);
  });
});

describe('IndexerWorker retention', () => {
  let template: PgliteTemplate;
  let store: SqlStore;
  beforeAll(async () => {
    template = await pgliteTemplate();
    store = await template.fresh();
  });
  afterAll(async () => {
    await template?.close();
  });

  it('sweepRetention() deletes each tenant\'s messages older than its period (configured or *), and nothing else', async () => {
    const now = new Date('2026-06-01T00:00:00Z');
    const daysAgo = (d: number) => new Date(now.getTime() - d * 86_400_000);
    const row = (tenant: string, id: string, d: number) => ({ provider: 'discord', tenant, foreign_id: id, space_id: 'g', channel_id: 'c', author_id: 'u', content: id, created_at: daysAgo(d) });
    await store.indexMessages([row('demo', '1', 40), row('demo', '2', 10), row('seen', '3', 400), row('seen', '4', 100), row('unseen', '5', 9999)]);
    const runtime = new AgentRuntime({ id: 'message-indexer', kind: 'worker', bus: new InProcessBus(), logLevel: 'silent' });
    const worker = new IndexerWorker(runtime, store, { retentionDays: { 'discord/demo': 30, '*': 365 }, resume: false });
    // The worker learns of a tenant from its envelopes.
    await worker.onMessageCreated(makeEnvelope('events.SocialMessageCreated', {
      message_id: 'urn:discord:message:seen:6', author_urn: 'urn:discord:user:seen:1', space_urn: 'urn:discord:channel:seen:c', text: 'hi',
      attachments: [], created_at: now.toISOString(), provider: 'discord', tenant: 'seen',
    }, { src: 'test', provider: 'discord', tenant: 'seen' }));
    expect(await worker.sweepRetention(now)).toBe(2);
    const left = await store.sql.query<{ foreign_id: string }>('SELECT foreign_id FROM messages ORDER BY foreign_id');
    expect(left.rows.map((r) => r.foreign_id)).toEqual(['2', '4', '5', '6']);
    expect(runtime.counters['retention.deleted']).toBe(2);
    expect(() => new IndexerWorker(runtime, store, { retentionDays: { '*': 0 } })).toThrow(/positive number of days/);
    await worker.stop();
  });
});
