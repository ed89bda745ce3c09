/**
 * Semantic rules with the real all-MiniLM-L6-v2 (server/src/embed) over the real hub and store: a
 * transcript close in meaning to the rule's text is flagged with its cosine similarity, one far from it
 * is not. The similarities come from the embedder itself (the reference); the threshold lies between.
 */
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusClient, cosineSimilarity, makeEnvelope, type Envelope, type ModerationFlag, type TransformersEmbedder } from '@promethean/shared';
import { agentBusFrom } from '@promethean/shared/node';
import { requires } from '../../../test/support/requires.ts';
import { openServerEmbedder } from '../embed/server-embedder.ts';
import { embeddingModelInstalled, INSTALL_HINT, TEST_MODEL_CACHE } from '../embed/testing.ts';
import { createHub, type Hub } from '../hub/index.ts';
import type { SqlStore } from '../store/sqlStore.ts';
import { pgliteTemplate, type PgliteTemplate } from '../store/testing.ts';
import { parseModerationConfig } from './config.ts';
import { startModeration, type RunningModeration } from './index.ts';

const MODEL = requires('the all-MiniLM-L6-v2 model', embeddingModelInstalled(), INSTALL_HINT);
const G1 = '1100000000000000001';
const RULE = 'I am going to hurt you';
const CLOSE = "I'm going to hurt you really badly";
const FAR = 'the weather is lovely today and the garden is in bloom';

async function until<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 60_000): Promise<NonNullable<T>> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.skipIf(!MODEL)('semantic watch rules with all-MiniLM-L6-v2', () => {
  let embedder: TransformersEmbedder;
  let hub: Hub;
  let dir: string;
  let template: PgliteTemplate;
  let store: SqlStore;
  let modBus: BusClient;
  let producer: BusClient;
  let mod: RunningModeration;
  let close: number;
  let far: number;
  const seen: Envelope[] = [];

  beforeAll(async () => {
    embedder = await openServerEmbedder({ cacheDir: TEST_MODEL_CACHE });
    const [r, c, f] = await embedder.embed([RULE, CLOSE, FAR]);
    close = cosineSimilarity(r!, c!);
    far = cosineSimilarity(r!, f!);
    dir = mkdtempSync(join(tmpdir(), 'moderation-semantic-'));
    hub = await createHub({ dataDir: dir, writeRuntimeFile: false });
    template = await pgliteTemplate();
    store = await template.fresh();
    const threshold = (close + far) / 2;
    const settings = parseModerationConfig(`
version: 1
tenants:
  discord/demo:
    guilds:
      - id: "${G1}"
        rules:
          - { id: threat, kind: semantic, pattern: "${RULE}", threshold: ${threshold} }
`);
    modBus = new BusClient({ url: hub.url, token: hub.agentKey });
    producer = new BusClient({ url: hub.url, token: hub.agentKey });
    await Promise.all([modBus.connect(), producer.connect()]);
    await producer.subscribe('promethean.p.*.t.*.moderation.flag', (env) => void seen.push(env)).ready;
    mod = startModeration(agentBusFrom(modBus), store, { settings, embedder, clips: false, logLevel: 'silent' });
    await mod.ready;
  }, 120_000);

  afterAll(async () => {
    mod?.stop();
    modBus?.close();
    producer?.close();
    await embedder?.close();
    await template?.close();
    await hub?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the model itself puts the paraphrase closer to the rule than the unrelated sentence', () => {
    expect(close).toBeGreaterThan(far);
  });

  it('flags the paraphrase with its similarity and not the unrelated sentence', async () => {
    const publish = (segment_id: string, text: string) =>
      producer.publish(makeEnvelope('duck.transcript.segment', {
        session_id: `${G1}-1200000000000000001`, segment_id, speaker: '1300000000000000003', text, ts_start_ns: '0', ts_end_ns: '2000000000',
        confidence: 0.9, tokens: 8, latency_ms: 200, final: true,
      }, { src: 'stt-worker', provider: 'discord', tenant: 'demo' }));
    publish('far', FAR);
    publish('close', CLOSE);
    const env = await until(() => seen.find((e) => e.intent === 'moderation.flag'), 'a flag');
    expect(mod.runtime.counters['transcripts.checked']).toBe(2);
    expect(seen).toHaveLength(1);
    const flag = env.payload as ModerationFlag;
    expect(flag).toMatchObject({ rule_id: 'threat', rule_kind: 'semantic', segment_id: 'close', span: { start: 0, end: CLOSE.length, text: CLOSE } });
    expect(flag.score).toBeCloseTo(close, 4);
  });
});
