/**
 * Entry of a `discord-rest` process (one per provider × tenant, started by `promethean start`). Its
 * environment holds its own credential variable, the hub URL, its bus key file and the proxy client
 * key file. Reports `{ type: 'ready', proxy_url }` over IPC once the proxy listens.
 */
import { readFile } from 'node:fs/promises';
import { agentBusFrom, runAsProgram, untilStopped } from '@promethean/shared/node';
import { connectAccessBus, readAccessConfig } from '../shared/config.ts';
import { parseDiscordRestEnv } from './config.ts';
import { DISCORD_REST_MANIFEST, startDiscordRest } from './index.ts';

async function main(): Promise<number> {
  const read = await readAccessConfig('discord-rest', parseDiscordRestEnv, DISCORD_REST_MANIFEST, process.env);
  if (!read) return 2;
  const { config, access } = read;
  const clientKey = (await readFile(config.PROMETHEAN_REST_PROXY_KEY_FILE, 'utf8')).trim();
  const bus = await connectAccessBus(config);
  const running = await startDiscordRest({
    bus: agentBusFrom(bus),
    agentId: config.PROMETHEAN_AGENT_ID,
    provider: config.PROMETHEAN_PROVIDER,
    tenant: config.PROMETHEAN_TENANT,
    botToken: access.botToken,
    apiBase: config.DISCORD_API_BASE,
    cdnBase: config.DISCORD_CDN_BASE,
    requestsPerSecond: access.tenant.rate.requests_per_s,
    proxy: { clientKey, host: config.PROMETHEAN_REST_PROXY_HOST, port: config.PROMETHEAN_REST_PROXY_PORT },
    logLevel: config.PROMETHEAN_LOG_LEVEL,
    buildSha: config.PROMETHEAN_BUILD_SHA,
  });
  process.send?.({ type: 'ready', proxy_url: running.proxy.url, port: running.proxy.port });
  await untilStopped();
  await running.close();
  bus.close();
  return 0;
}

runAsProgram(import.meta.url, 'discord-rest', main);
