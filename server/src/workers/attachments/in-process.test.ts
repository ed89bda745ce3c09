/**
 * The attachment indexer as `promethean start` runs it inside the server: a message with an attachment
 * posted in the stand-in's text world (signed, expiring CDN URLs) reaches the real discord-gateway
 * agent (discord.js), the indexer learns the media path from the file the supervisor writes (after the
 * indexer started, as under `promethean start`), fetches through the real discord-rest agent's
 * `/media` with the proxy client key, and stores the sha-256. Every HTTP request the stand-in receives
 * is observed through Node's `http.server.request.start` diagnostics channel: the CDN never sees an
 * Authorization header, and the bot token travels only to the stand-in's API from the access agents.
 */
import { createHash } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusClient } from '@promethean/shared';
import { agentBusFrom } from '@promethean/shared/node';
import { createHub, type Hub } from '../../hub/index.ts';
import { pgliteTemplate, type PgliteTemplate } from '../../store/testing.ts';
import type { SqlStore } from '../../store/sqlStore.ts';
import { startStandin, type Standin } from '../../../../test/standin/src/standin.ts';
import { startDiscordRest, type RunningDiscordRest } from '../../access/discord-rest/index.ts';
import { startDiscordGateway, type RunningDiscordGateway } from '../../access/discord-gateway/index.ts';
import { writeRestProxyKey } from '../../supervisor/text-access.ts';
import { startAttachmentIndexerInProcess, parseAttachmentMaxBytes, type InProcessAttachmentIndexer } from './in-process.ts';
import { MediaProxyDirectory, mediaProxiesPath, writeMediaProxies } from './proxies.ts';
import { until } from '../../../../test/support/until.ts';

const P = 'discord';
const BOT_TOKEN = 'in-process-attachment-test-bot-token';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** A GIF header and a few bytes: the sniffer must say image/gif whatever the upload declared. */
const GIF = Buffer.concat([Buffer.from('GIF89a', 'latin1'), Buffer.from([1, 0, 1, 0, 0x80, 0, 0]), Buffer.from('pixels of a test gif')]);

interface Seen {
  path: string;
  authorization: string | undefined;
}

describe('attachment indexer in the server process (promethean start layout)', () => {
  let dataDir: string;
  let hub: Hub;
  let standin: Standin;
  let template: PgliteTemplate;
  let store: SqlStore;
  let rest: RunningDiscordRest;
  let gateway: RunningDiscordGateway;
  let indexer: InProcessAttachmentIndexer;
  let keyFile: string;
  const buses: BusClient[] = [];
  const requests: Seen[] = [];
  let standinPort = 0;
  let proxyPort = 0;
  const onRequest = (message: unknown) => {
    const { request } = message as { request: IncomingMessage };
    const port = request.socket.localPort;
    if (port !== standinPort && port !== proxyPort) return;
    requests.push({ path: `${port === proxyPort ? 'proxy' : 'standin'}:${request.url ?? ''}`, authorization: request.headers.authorization });
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'attach-inproc-'));
    subscribe('http.server.request.start', onRequest);
    hub = await createHub({ dataDir: join(dataDir, 'hub'), writeRuntimeFile: false });
    standin = await startStandin();
    standinPort = new URL(standin.restApi).port ? Number(new URL(standin.restApi).port) : 0;
    template = await pgliteTemplate();
    store = await template.fresh();
    for (let i = 0; i < 3; i++) buses.push(new BusClient({ url: hub.url, token: hub.agentKey }));
    await Promise.all(buses.map((b) => b.connect()));
    // As the supervisor does before it starts the server: a fresh proxy client key in the data dir.
    keyFile = await writeRestProxyKey(dataDir);
    // The server (and its indexer) starts before the REST agent, so the indexer cannot be told a URL.
    indexer = startAttachmentIndexerInProcess(agentBusFrom(buses[0]!), store, { dataDir, logLevel: 'silent', maxBytes: 1 << 20 });
    await indexer.ready;
    rest = await startDiscordRest({
      bus: agentBusFrom(buses[1]!), tenant: 'demo', botToken: BOT_TOKEN, apiBase: standin.restApi, cdnBase: standin.cdnBase,
      proxy: { clientKey: (await readFile(keyFile, 'utf8')).trim() }, logLevel: 'silent',
    });
    proxyPort = rest.proxy.port;
    gateway = await startDiscordGateway({ bus: agentBusFrom(buses[2]!), tenant: 'demo', botToken: BOT_TOKEN, allows: () => true, apiBase: standin.restApi, logLevel: 'silent' });
  }, 60_000);

  afterAll(async () => {
    unsubscribe('http.server.request.start', onRequest);
    indexer?.stop();
    await gateway?.close();
    await rest?.close();
    for (const b of buses) b.close();
    await template?.close();
    await standin?.close();
    await hub?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('stores a posted attachment with its sha-256 after the supervisor names the proxy, through /media, never with the token', async () => {
    const author = standin.text.author('erin');
    const m = standin.text.post(standin.textChannelId, { content: 'a picture', authorId: author, attachments: [{ filename: 'pic.gif', bytes: GIF, contentType: 'application/octet-stream' }] });
    const attachmentId = m.attachments[0]!.id;
    // The message is handled while no proxy is known yet: the fetch waits for the file.
    await until('the indexer to receive the message', () => (indexer.runtime.counters['handled.events.SocialMessageCreated'] ?? 0) >= 1);
    await until('the indexer to look for the proxies file', () => indexer.fetcher.directory.counters.missing >= 1);
    expect(await store.getAttachment({ provider: P, tenant: 'demo', foreign_id: attachmentId })).toBeUndefined();

    await writeMediaProxies(dataDir, new Map([[`${P}/demo`, rest.proxy.url]]), keyFile);
    await until('the attachment to be stored', async () => (await store.getAttachment({ provider: P, tenant: 'demo', foreign_id: attachmentId })) !== undefined);
    await indexer.worker.whenIdle();

    const row = await store.getAttachment({ provider: P, tenant: 'demo', foreign_id: attachmentId });
    expect(row).toMatchObject({ status: 'stored', sha256: sha(GIF), size: GIF.byteLength, content_type: 'image/gif', filename: 'pic.gif', message_id: m.id, channel_id: standin.textChannelId });
    expect(rest.proxy.counters.media).toBe(1);
    expect(standin.text.cdn.counters.served).toBe(1);

    const proxyKey = (await readFile(keyFile, 'utf8')).trim();
    const media = requests.filter((r) => r.path.startsWith('proxy:/media?'));
    expect(media).toHaveLength(1);
    expect(media[0]!.authorization).toBe(`Bot ${proxyKey}`);
    const cdn = requests.filter((r) => r.path.startsWith('standin:/attachments/'));
    expect(cdn).toHaveLength(1);
    expect(cdn[0]!.path).toMatch(/[?&]ex=[0-9a-f]+&is=[0-9a-f]+&hm=[0-9a-f]{64}/);
    expect(cdn[0]!.authorization).toBeUndefined();
    const withToken = requests.filter((r) => r.authorization?.includes(BOT_TOKEN));
    expect(withToken.length).toBeGreaterThan(0); // the gateway agent's own API calls, so the observer works
    expect(withToken.every((r) => r.path.startsWith('standin:/api/'))).toBe(true);
  });

  it('ignores a proxies file written for another proxy client key (left by an earlier start)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'attach-stale-'));
    try {
      const oldKey = await writeRestProxyKey(dir);
      await writeMediaProxies(dir, new Map([[`${P}/demo`, 'http://127.0.0.1:9/api']]), oldKey);
      await writeFile(oldKey, 'a-new-key-from-a-later-start\n');
      const directory = new MediaProxyDirectory({ file: mediaProxiesPath(dir), refreshMs: 0 });
      expect(await directory.resolve(P, 'demo')).toBeUndefined();
      expect(directory.counters.stale).toBe(1);
      await writeFile(mediaProxiesPath(dir), '{"format": 1, "proxies": "not a map"}');
      expect(await directory.resolve(P, 'demo')).toBeUndefined();
      expect(directory.counters.invalid).toBe(1);
      await writeMediaProxies(dir, new Map([[`${P}/demo`, 'http://127.0.0.1:9/api']]), oldKey);
      expect(await directory.resolve(P, 'demo')).toEqual({ base: 'http://127.0.0.1:9/api', clientKey: 'a-new-key-from-a-later-start' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('parseAttachmentMaxBytes() takes whole byte counts and refuses anything else with bad_config naming the variable', () => {
    expect(parseAttachmentMaxBytes(undefined)).toBe(10 * 1024 * 1024);
    expect(parseAttachmentMaxBytes('4096')).toBe(4096);
    for (const bad of ['0', '-1', '1.5', 'ten', String(2 ** 31)]) {
      expect(() => parseAttachmentMaxBytes(bad)).toThrow(expect.objectContaining({ code: 'bad_config', path: 'PROMETHEAN_ATTACHMENT_MAX_BYTES' }));
    }
  });
});
