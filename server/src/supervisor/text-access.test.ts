/**
 * The text access agents as `promethean start` runs them: one REST and one gateway agent per Discord
 * tenant of providers.yml (a second tenant is a second entry, nothing else), each with its own bus key
 * and only its own credential variable; the proxy client key at 0600; and a real discord-rest process
 * answering rest.request over a real hub against the stand-in.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BusClient, makeEnvelope, parseProvidersConfig, topic } from '@promethean/shared';
import type { Envelope, RestResponse } from '@promethean/shared';
import { startStandin } from '@promethean/standin';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../app.ts';
import { loadAgentKeys } from '../hub/agent-keys.ts';
import { startTempHub } from '../hub/testing.ts';
import { SupervisedChild } from './child.ts';
import { issueTextAccessKeys, textAccessAgents, textAccessSpec, writeRestProxyKey } from './text-access.ts';

const YAML = (tenants: string[]) =>
  ['version: 1', 'providers:', '  discord:', '    tenants:', ...tenants.flatMap((t) => [`      - id: ${t}`, '        credentials:', `          bot_token: \${${t.toUpperCase()}_TOKEN}`, '        allow:', '          guilds: ["*"]']), ''].join('\n');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'text-access-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('text access agents from providers.yml', () => {
  it('a second tenant in providers.yml adds its own discord-rest and discord-gateway, keys and credentials', async () => {
    const one = textAccessAgents(parseProvidersConfig(YAML(['demo']), { DEMO_TOKEN: 'a' }), PROJECT_ROOT);
    const two = textAccessAgents(parseProvidersConfig(YAML(['demo', 'second']), { DEMO_TOKEN: 'a', SECOND_TOKEN: 'b' }), PROJECT_ROOT);
    expect(one.map((a) => a.id)).toEqual(['discord-rest-demo', 'discord-gateway-demo']);
    expect(two.map((a) => a.id)).toEqual(['discord-rest-demo', 'discord-gateway-demo', 'discord-rest-second', 'discord-gateway-second']);
    const keys = await issueTextAccessKeys(dir, two);
    const registered = await loadAgentKeys(dir);
    expect(registered.find((k) => k.id === 'discord-gateway-second')?.outputs).toContain('events.SocialMessageCreated');
    expect(registered.find((k) => k.id === 'discord-rest-second')?.outputs).toContain('rest.response');
    const env = { DEMO_TOKEN: 'demo-secret', SECOND_TOKEN: 'second-secret' };
    const spec = textAccessSpec(two[2]!, { hubUrl: 'ws://127.0.0.1:1/bus', keyFile: keys.get('discord-rest-second')!, proxyKeyFile: join(dir, 'keys/rest-proxy.key'), providersFile: 'p.yml', useStandin: false, env, endpoint: {}, standinGuildId: undefined, settings: {} }, dir);
    expect(spec.env.SECOND_TOKEN).toBe('second-secret');
    expect(Object.values(spec.env)).not.toContain('demo-secret');
    expect(spec.env.PROMETHEAN_TENANT).toBe('second');
    expect(spec.env.PROMETHEAN_AGENT_ID).toBe('discord-rest-second');
  });

  it('writes the proxy client key with mode 0600, a new one at every start', async () => {
    const path = await writeRestProxyKey(dir);
    const first = await readFile(path, 'utf8');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(first.trim()).toMatch(/^[0-9a-f]{64}$/);
    await writeRestProxyKey(dir);
    expect(await readFile(path, 'utf8')).not.toBe(first);
  });

  it('runs discord-rest as its own process: ready with the proxy URL, then answers rest.request over the hub', async () => {
    const data = await mkdtemp(join(tmpdir(), 'text-access-proc-'));
    const standin = await startStandin();
    const providers = join(data, 'providers.yml');
    await writeFile(providers, YAML(['demo', 'second']));
    const agents = textAccessAgents(parseProvidersConfig(YAML(['demo', 'second']), { DEMO_TOKEN: 'x', SECOND_TOKEN: 'y' }), PROJECT_ROOT);
    const keys = await issueTextAccessKeys(data, agents);
    const proxyKeyFile = await writeRestProxyKey(data);
    const hub = await startTempHub({ dataDir: data });
    const rest = agents.find((a) => a.id === 'discord-rest-second')!;
    const spec = textAccessSpec(rest, { hubUrl: hub.url, keyFile: keys.get(rest.id)!, proxyKeyFile, providersFile: providers, useStandin: true, env: {}, endpoint: { DISCORD_API_BASE: standin.restApi, DISCORD_CDN_BASE: standin.cdnBase }, standinGuildId: standin.guildId, settings: {} }, PROJECT_ROOT);
    const child = new SupervisedChild(spec, { log: () => undefined }, {});
    const bus = new BusClient({ url: hub.url, token: hub.agentKey });
    try {
      const ready = await child.start();
      expect(String(ready.proxy_url)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api$/);
      await bus.connect();
      const env = makeEnvelope('rest.request', { method: 'GET', url: `/guilds/${standin.guildId}/channels`, timeout_ms: 10_000 }, { src: 'test', provider: 'discord', tenant: 'second' });
      let resolveAnswer: (r: RestResponse) => void = () => undefined;
      const answer = new Promise<RestResponse>((resolve) => (resolveAnswer = resolve));
      const sub = bus.subscribe(topic('discord', 'second', 'rest.response'), (r: Envelope) => {
        if (r.corr === env.id) resolveAnswer(r.payload as RestResponse);
      });
      await sub.ready;
      bus.publish(env as Envelope);
      const r = await answer;
      expect(r.status).toBe(200);
      expect((r.data as { id: string }[]).some((c) => c.id === standin.textChannelId)).toBe(true);
    } finally {
      bus.close();
      await child.stop();
      await hub.dispose();
      await standin.close();
      await rm(data, { recursive: true, force: true });
    }
  }, 90_000);
});
