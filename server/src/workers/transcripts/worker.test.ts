/**
 * The transcript indexer on the real agent runtime and in-process bus, over a real (in-memory) PGlite
 * store: final transcripts kept by segment id (partials counted, never stored), retention per tenant (30 days by
 * default), deletion per user, bad input answered with a typed error.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeEnvelope, type Envelope, type PayloadOf } from '@promethean/shared';
import { InProcessBus, loadManifest } from '@promethean/shared/node';
import { pgliteTemplate, type PgliteTemplate } from '../../store/testing.ts';
import type { SqlStore } from '../../store/sqlStore.ts';
import { parseRetention } from '../indexer/index.ts';
import { startTranscriptIndexer, type RunningTranscriptIndexer } from './index.ts';

const DAY = 86_400_000;
const NOW = new Date('2026-06-30T12:00:00.000Z');

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (!(await ok())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function transcript(tenant: string, segment: string, over: Partial<PayloadOf<'duck.transcript.segment'>> = {}, ageDays = 0): Envelope {
  const env = makeEnvelope(
    'duck.transcript.segment',
    {
      session_id: 'g-c', segment_id: segment, speaker: '42', text: `words of ${segment}`, ts_start_ns: '5000000000', ts_end_ns: '6000000000',
      confidence: 0.7, tokens: 3, latency_ms: 900, rtf: 0.4, language: 'en', final: true,
      words: [{ word: 'words', start_ms: 0, end_ms: 300 }],
      ...over,
    },
    { src: 'stt', provider: 'discord', tenant, models: [{ name: 'faster-whisper/whisper-tiny.en', version: 'ctranslate2-int8' }] },
  );
  return { ...env, ts: new Date(NOW.getTime() - ageDays * DAY).toISOString() };
}

describe('transcript indexer', () => {
  let template: PgliteTemplate;
  let store: SqlStore;
  let bus: InProcessBus;
  let indexer: RunningTranscriptIndexer;
  let errors: Array<PayloadOf<'error'>>;

  beforeAll(async () => {
    template = await pgliteTemplate();
  });
  afterAll(async () => {
    await template?.close();
  });

  async function start(retention?: string): Promise<void> {
    store = await template.fresh();
    bus = new InProcessBus();
    errors = [];
    bus.subscribe('promethean.p.*.t.*.error', (env) => void errors.push(env.payload as PayloadOf<'error'>));
    indexer = startTranscriptIndexer(bus, store, { logLevel: 'silent', retentionDays: parseRetention(retention, 'PROMETHEAN_TRANSCRIPT_RETENTION') });
    await indexer.ready;
  }

  afterEach(async () => {
    await indexer?.stop();
  });

  const handled = () => indexer.runtime.counters['handled.duck.transcript.segment'] ?? 0;

  it('keeps each transcript by {session_id}:{segment_id} with its words, model and time', async () => {
    await start();
    bus.publish(transcript('demo', 'a'));
    bus.publish(transcript('demo', 'a')); // redelivered
    await until('both handled', () => handled() === 2);
    const row = await store.getTranscript({ provider: 'discord', tenant: 'demo', foreign_id: 'g-c:a' });
    expect(row).toMatchObject({
      speaker_id: '42', text: 'words of a', start_ns: '5000000000', end_ns: '6000000000', lang: 'en', confidence: 0.7,
      model: 'faster-whisper/whisper-tiny.en', final: true, tokens: 3, rtf: 0.4, words: [{ word: 'words', start_ms: 0, end_ms: 300 }],
      transcribed_at: NOW.toISOString(),
    });
    expect(indexer.runtime.counters['stored.inserted']).toBe(1);
    expect(indexer.runtime.counters['stored.unchanged']).toBe(1);
  });

  it('stores finals only: partials before and after the final are counted and never written', async () => {
    await start();
    bus.publish(transcript('demo', 'p', { final: false, text: 'words' }));
    await until('the partial', () => handled() === 1);
    expect(await store.getTranscript({ provider: 'discord', tenant: 'demo', foreign_id: 'g-c:p' })).toBeUndefined();
    bus.publish(transcript('demo', 'p', { final: true, text: 'words of p' }));
    await until('the final', () => handled() === 2);
    bus.publish(transcript('demo', 'p', { final: false, text: 'wards' }));
    await until('the late partial', () => handled() === 3);
    expect(await store.getTranscript({ provider: 'discord', tenant: 'demo', foreign_id: 'g-c:p' })).toMatchObject({ final: true, text: 'words of p' });
    expect(indexer.runtime.counters['skipped.partial']).toBe(2);
    expect(indexer.runtime.counters['stored.inserted']).toBe(1);
    expect(indexer.runtime.counters['stored.updated']).toBeUndefined();
    expect(errors).toEqual([]);
  });

  it('retention: 30 days unless configured, per tenant, swept over every tenant with transcripts', async () => {
    await start('discord/short=1');
    bus.publish(transcript('short', 'two-days', {}, 2));
    bus.publish(transcript('short', 'fresh', {}, 0.5));
    bus.publish(transcript('demo', 'ten-days', {}, 10));
    bus.publish(transcript('demo', 'forty-days', {}, 40));
    await until('four handled', () => handled() === 4);
    expect(indexer.worker.retentionOf({ provider: 'discord', tenant: 'demo' })).toBe(30);
    expect(await indexer.worker.sweepRetention(NOW)).toBe(2);
    const left = async (tenant: string) => (await store.listTranscripts({ provider: 'discord', tenant, session_id: 'g-c' })).map((r) => r.segment_id);
    expect(await left('short')).toEqual(['fresh']);
    expect(await left('demo')).toEqual(['ten-days']);
    expect(indexer.runtime.counters['retention.deleted']).toBe(2);
  });

  it('a `*` entry sets the default for every other tenant', async () => {
    await start('*=7');
    bus.publish(transcript('demo', 'ten-days', {}, 10));
    await until('handled', () => handled() === 1);
    expect(await indexer.worker.sweepRetention(NOW)).toBe(1);
  });

  it('deleteSpeaker() removes one user’s transcripts of the tenant', async () => {
    await start();
    bus.publish(transcript('demo', 'a', { speaker: '42' }));
    bus.publish(transcript('demo', 'b', { speaker: '43' }));
    await until('both handled', () => handled() === 2);
    expect(await indexer.worker.deleteSpeaker({ provider: 'discord', tenant: 'demo' }, '42')).toBe(1);
    expect((await store.listTranscripts({ provider: 'discord', tenant: 'demo', session_id: 'g-c' })).map((r) => r.speaker_id)).toEqual(['43']);
  });

  it('answers a bad transcript with a typed error and writes nothing', async () => {
    await start();
    bus.publish(transcript('demo', 'bad', { confidence: 2 }));
    bus.publish(transcript('demo', 'colon', { session_id: 'a:b' }));
    await until('two errors', () => errors.length === 2);
    expect(errors[0]).toMatchObject({ code: 'schema', path: 'payload.confidence' });
    expect(errors[1]).toMatchObject({ code: 'schema', path: 'transcript.session_id' });
    expect(await store.transcriptTenants()).toEqual([]);
    expect(indexer.runtime.counters['rejected.duck.transcript.segment']).toBe(1);
    expect(indexer.runtime.counters.store_errors).toBe(1);
  });

  it('refuses a retention that is not a positive number of days', async () => {
    store = await template.fresh();
    expect(() => startTranscriptIndexer(new InProcessBus(), store, { logLevel: 'silent', retentionDays: { 'discord/demo': 0 } })).toThrow(/positive number of days/);
    expect(() => parseRetention('discord/demo=soon', 'PROMETHEAN_TRANSCRIPT_RETENTION')).toThrow(/PROMETHEAN_TRANSCRIPT_RETENTION: "discord\/demo=soon"/);
  });

  it('agent.yml is a valid manifest', async () => {
    const m = await loadManifest(new URL('./agent.yml', import.meta.url).pathname);
    expect(m.id).toBe('transcript-indexer');
    expect([...m.inputs]).toEqual(['duck.transcript.segment']);
  });
});
