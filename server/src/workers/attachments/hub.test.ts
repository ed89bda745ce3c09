import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusClient, makeEnvelope } from '@promethean/shared';
import { agentBusFrom } from '@promethean/shared/node';
import { createHub, type Hub } from '../../hub/index.ts';
import { pgliteTemplate, type PgliteTemplate } from '../../store/testing.ts';
import type { SqlStore } from '../../store/sqlStore.ts';
import { startStandin, type Standin } from '../../../../test/standin/src/standin.ts';
import { startDiscordRest, type RunningDiscordRest } from '../../access/discord-rest/index.ts';
import { ProxyMediaFetcher, startAttachmentIndexer, type RunningAttachmentIndexer } from './index.ts';

const P = 'discord';
const PROXY_KEY = 'attachment-test-proxy-key';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('rest of a png, for the hash')]);

describe('attachment indexer through the real REST agent\'s media path', () => {
  let hub: Hub;
  let standin: Standin;
  let template: PgliteTemplate;
  let store: SqlStore;
  let rest: RunningDiscordRest;
  let workerBus: BusClient;
  let agentBus: BusClient;
  let producer: BusClient;
  let indexer: RunningAttachmentIndexer;

  beforeAll(async () => {
    hub = await createHub({ dataDir: mkdtempSync(join(tmpdir(), 'attach-hub-')), writeRuntimeFile: false });
    standin = await startStandin();
    template = await pgliteTemplate();
    store = await template.fresh();
    workerBus = new BusClient({ url: hub.url, token: hub.agentKey });
    agentBus = new BusClient({ url: hub.url, token: hub.agentKey });
    producer = new BusClient({ url: hub.url, token: hub.agentKey });
    await Promise.all([workerBus.connect(), agentBus.connect(), producer.connect()]);
    rest = await startDiscordRest({
      bus: agentBusFrom(agentBus), tenant: 'demo', botToken: 'attachment-test-bot-token', apiBase: standin.restApi, cdnBase: standin.cdnBase,
      proxy: { clientKey: PROXY_KEY }, logLevel: 'silent',
    });
    const fetcher = new ProxyMediaFetcher({ proxies: { 'discord/demo': rest.proxy.url }, clientKey: PROXY_KEY });
    indexer = startAttachmentIndexer(agentBusFrom(workerBus), store, fetcher, { logLevel: 'silent', maxBytes: 4096 });
    await indexer.ready;
  }, 60_000);

  afterAll(async () => {
    indexer?.stop();
    await rest?.close();
    for (const b of [workerBus, agentBus, producer]) b?.close();
    await template?.close();
    await standin?.close();
    await hub?.close();
  });

  /** Posts in the stand-in and announces it as the gateway agent would. */
  function post(files: { filename: string; bytes: Uint8Array; contentType?: string }[], declareSize = true) {
    const m = standin.text.post(standin.textChannelId, { content: 'files', attachments: files });
    const urn = (kind: string, id: string) => `urn:${P}:${kind}:demo:${id}`;
    producer.publish(makeEnvelope('events.SocialMessageCreated', {
      message_id: urn('message', m.id), author_urn: urn('user', m.authorId), space_urn: urn('channel', m.channelId), text: 'files',
      attachments: m.attachments.map((a, i) => ({
        urn: urn('attachment', a.id), url: standin.text.cdn.url({ channelId: m.channelId, id: a.id, filename: files[i]!.filename }),
        ...(files[i]!.contentType ? { content_type: files[i]!.contentType } : {}), ...(declareSize ? { size: files[i]!.bytes.byteLength } : {}),
      })),
      created_at: new Date().toISOString(), provider: P, tenant: 'demo',
    }, { src: 'discord-gateway', provider: P, tenant: 'demo' }));
    return m;
  }

  async function settled(n: number) {
    const end = performance.now() + 20_000;
    while ((indexer.runtime.counters['handled.events.SocialMessageCreated'] ?? 0) < n) {
      if (performance.now() > end) throw new Error('the indexer did not handle the message');
      await new Promise((r) => setTimeout(r, 10));
    }
    await indexer.worker.whenIdle();
  }

  it('stores sha-256, size and the sniffed type (not the declared one), and dedupes equal bytes by hash', async () => {
    const m = post([{ filename: 'cat.png', bytes: PNG, contentType: 'text/plain' }, { filename: 'copy.png', bytes: PNG }]);
    await settled(1);
    const [a, b] = m.attachments;
    const first = await store.getAttachment({ provider: P, tenant: 'demo', foreign_id: a!.id });
    expect(first).toMatchObject({ status: 'stored', sha256: sha(PNG), size: PNG.byteLength, content_type: 'image/png', declared_type: 'text/plain', filename: 'cat.png', message_id: m.id });
    expect(await store.getAttachment({ provider: P, tenant: 'demo', foreign_id: b!.id })).toMatchObject({ status: 'stored', sha256: sha(PNG) });
    expect(indexer.runtime.counters['attachments.stored']).toBe(1);
    expect(indexer.runtime.counters['attachments.dedupe_hits']).toBe(1);
    const blobs = await store.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM attachment_blobs');
    expect(Number(blobs.rows[0]!.n)).toBe(1);
    expect(rest.proxy.counters.media).toBe(2);
  });

  it('records an attachment over the size cap as oversize, declared or discovered while reading', async () => {
    const big = new Uint8Array(5000).fill(65);
    const declared = post([{ filename: 'big.txt', bytes: big }]);
    const undeclared = post([{ filename: 'big2.txt', bytes: big }], false);
    await settled(3);
    const mediaBefore = rest.proxy.counters.media;
    expect(await store.getAttachment({ provider: P, tenant: 'demo', foreign_id: declared.attachments[0]!.id })).toMatchObject({ status: 'oversize', sha256: null });
    expect(await store.getAttachment({ provider: P, tenant: 'demo', foreign_id: undeclared.attachments[0]!.id })).toMatchObject({ status: 'oversize', sha256: null });
    expect(indexer.runtime.counters['attachments.oversize']).toBe(2);
    expect(rest.proxy.counters.media).toBe(mediaBefore);
  });

  it('refuses an envelope whose payload names another tenant with a counted schema error and does not fetch', async () => {
    const media = rest.proxy.counters.media;
    // The hub already refuses payloads its schema rejects; this one passes it but names another tenant.
    producer.publish(makeEnvelope('events.SocialMessageCreated', { message_id: 'urn:discord:message:other:1', author_urn: 'urn:discord:user:other:2', space_urn: 'urn:discord:channel:other:3', attachments: [{ urn: 'urn:discord:attachment:other:4', url: `${standin.cdnBase}/x.png` }], created_at: new Date().toISOString(), provider: P, tenant: 'other' }, { src: 'discord-gateway', provider: P, tenant: 'demo' }));
    const end = performance.now() + 20_000;
    while ((indexer.runtime.counters['rejected.events.SocialMessageCreated'] ?? 0) < 1 && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
    expect(indexer.runtime.counters['rejected.events.SocialMessageCreated']).toBe(1);
    expect(rest.proxy.counters.media).toBe(media);
  });
});
