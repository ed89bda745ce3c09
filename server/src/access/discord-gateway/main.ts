/**
 * Entry of a `discord-gateway` process (one per provider × tenant, started by `promethean start`).
 * Exits 78 (configuration error) when the intents are missing, after its health said why.
 */
import { agentBusFrom, runAsProgram, untilStopped } from '@promethean/shared/node';
import { connectAccessBus, readAccessConfig } from '../shared/config.ts';
import { parseDiscordGatewayEnv } from './config.ts';
import { DISCORD_GATEWAY_MANIFEST, GatewayFatalError, startDiscordGateway } from './index.ts';

export const EXIT_CONFIG = 78;

async function main(): Promise<number> {
  const read = await readAccessConfig('discord-gateway', parseDiscordGatewayEnv, DISCORD_GATEWAY_MANIFEST, process.env);
  if (!read) return 2;
  const { config, access } = read;
  const bus = await connectAccessBus(config);
  let running;
  try {
    running = await startDiscordGateway({
      bus: agentBusFrom(bus),
      agentId: config.PROMETHEAN_AGENT_ID,
      provider: config.PROMETHEAN_PROVIDER,
      tenant: config.PROMETHEAN_TENANT,
      botToken: access.botToken,
      allows: access.allows,
      apiBase: config.DISCORD_API_BASE,
      logLevel: config.PROMETHEAN_LOG_LEVEL,
      buildSha: config.PROMETHEAN_BUILD_SHA,
    });
  } catch (error) {
    if (!(error instanceof GatewayFatalError)) throw error;
    console.error(`discord-gateway: fatal: ${error.message}`);
    await new Promise((r) => setTimeout(r, 200)); // let the health and error envelopes go out
    bus.close();
    return EXIT_CONFIG;
  }
  process.send?.({ type: 'ready', user_id: running.client.user?.id ?? null });
  await untilStopped();
  await running.close();
  bus.close();
  return 0;
}

runAsProgram(import.meta.url, 'discord-gateway', main);
