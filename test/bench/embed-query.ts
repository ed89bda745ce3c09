/**
 * `promethean bench embed-query`: what asking the embedder over the bus adds to a search's query
 * embedding. One query at a time (a search box): the server's `BusEmbedder` → hub → the embedder worker
 * (the real model, here on its own bus client in this process) → `embed.query.result` back, against
 * the same model called directly (the baseline). Both sides share the two cores, as they would under
 * `promethean start`. Texts: the 72 sentences of the paraphrase fixture.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BusClient } from '@promethean/shared';
import { AgentRuntime, agentBusFrom } from '@promethean/shared/node';
import type { BenchContext, BenchRow, BenchSuite } from './types.ts';
import { BusEmbedder } from '../../server/src/embed/bus-embedder.ts';
import { openServerEmbedder } from '../../server/src/embed/server-embedder.ts';
import { embeddingModelInstalled, INSTALL_HINT, TEST_MODEL_CACHE } from '../../server/src/embed/testing.ts';
import { createHub } from '../../server/src/hub/index.ts';
import { startEmbedder } from '../../server/src/workers/embedder/index.ts';

const SENTENCES = (JSON.parse(readFileSync(new URL('../fixtures/embed/paraphrases.json', import.meta.url), 'utf8')) as {
  cases: { anchor: string; paraphrase: string; distractor: string }[];
}).cases.flatMap((c) => [c.anchor, c.paraphrase, c.distractor]);

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function row(name: string, ms: number[], baseline?: BenchRow): BenchRow {
  const s = [...ms].sort((a, b) => a - b);
  return {
    suite: 'embed-query', name, unit: 'ms/query', value: quantile(s, 0.5), p50: quantile(s, 0.5), p95: quantile(s, 0.95), p99: quantile(s, 0.99),
    ...(baseline ? { baseline: { name: baseline.name, value: baseline.value } } : {}),
  };
}

const suite: BenchSuite = {
  name: 'embed-query',
  description: 'one query embedding through the bus (server → hub → embedder worker → server) vs the model called directly',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    if (!embeddingModelInstalled()) throw new Error(`bench embed-query needs the all-MiniLM-L6-v2 model: ${INSTALL_HINT}`);
    const texts = ctx.quick ? SENTENCES.slice(0, 24) : [...SENTENCES, ...SENTENCES, ...SENTENCES];
    const model = await openServerEmbedder({ cacheDir: TEST_MODEL_CACHE });
    const hub = await createHub({ dataDir: mkdtempSync(join(tmpdir(), 'bench-embed-query-')), writeRuntimeFile: false });
    const workerBus = new BusClient({ url: hub.url, token: hub.agentKey });
    const serverBus = new BusClient({ url: hub.url, token: hub.agentKey });
    try {
      await Promise.all([workerBus.connect(), serverBus.connect()]);
      const worker = startEmbedder(agentBusFrom(workerBus), model, { logLevel: 'silent' });
      const runtime = new AgentRuntime({ id: 'semantic-index', kind: 'worker', bus: agentBusFrom(serverBus), logLevel: 'silent' });
      const asker = new BusEmbedder(runtime);
      runtime.start();
      asker.start();
      await worker.ready;
      const t0 = performance.now();
      while (!asker.available) {
        if (performance.now() - t0 > 30_000) throw new Error('the embedder worker never showed up');
        await new Promise((r) => setTimeout(r, 20));
      }
      await model.embed(SENTENCES.slice(0, 8)); // warm-up: the first run allocates
      await asker.embed(SENTENCES.slice(0, 1));
      const direct: number[] = [];
      const viaBus: number[] = [];
      // Interleaved, so both see the same background load.
      for (const t of texts) {
        let s = performance.now();
        await model.embed([t]);
        direct.push(performance.now() - s);
        s = performance.now();
        await asker.embed([t]);
        viaBus.push(performance.now() - s);
      }
      const base = row('direct (in-process model)', direct);
      const bus = row('over the bus (BusEmbedder → embedder worker)', viaBus, base);
      ctx.log(`bench embed-query: direct ${base.value.toFixed(1)} ms, over the bus ${bus.value.toFixed(1)} ms (median of ${texts.length})`);
      await asker.close();
      runtime.stop();
      await worker.stop();
      return [base, bus];
    } finally {
      workerBus.close();
      serverBus.close();
      await hub.close();
      await model.close();
    }
  },
};

export default suite;
