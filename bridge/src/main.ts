/**
 * Entry of the `discord-voice-access` process: config from the environment (once, with zod), a
 * discord.js client (REST and CDN pointed at a stand-in when DISCORD_API_BASE / DISCORD_CDN_BASE are
 * set), the bus client, the shared agent runtime, and the voice access agent.
 */
import { readFile } from 'node:fs/promises';
import { Client, Events, GatewayIntentBits } from 'discord.js';
import { BusClient, PrometheanError } from '@promethean/shared';
import { AgentRuntime, agentBusFrom, type AgentBus, runAsProgram, untilStopped } from '@promethean/shared/node';
import { VoiceAccessAgent } from './agent.ts';
import { RtpForwarder } from './relay/index.ts';
import { VoiceChannelsPublisher } from './discord/voice-channels.ts';
import { parseBridgeEnv, type BridgeConfig } from './config.ts';
import { loadProviderAccess } from './credentials.ts';
import { DiscordPresence } from './discord/presence.ts';
import { DiscordVoiceGateway } from './discord/voice-gateway.ts';
import { DiscordVoiceMembers } from './discord/voice-members.ts';

export const AGENT_ID = 'discord-voice-access';

export interface RunningBridge {
  agent: VoiceAccessAgent;
  runtime: AgentRuntime;
  client: Client;
  /** Leaves every channel, stops the agent, logs out, closes the bus. Idempotent. */
  close(): Promise<void>;
}

export async function startBridge(config: BridgeConfig, bus?: AgentBus, env: Record<string, string | undefined> = {}): Promise<RunningBridge> {
  const access = await loadProviderAccess(config.PROMETHEAN_PROVIDERS_FILE, config.PROMETHEAN_PROVIDER, config.PROMETHEAN_TENANT, env);
  let busClient: BusClient | undefined;
  if (!bus) {
    const token = (await readFile(config.PROMETHEAN_AGENT_TOKEN_FILE, 'utf8')).trim();
    busClient = new BusClient({ url: config.PROMETHEAN_HUB_URL, token });
    await busClient.connect();
    bus = agentBusFrom(busClient);
  }
  const client = new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates],
    rest: { ...(config.DISCORD_API_BASE ? { api: config.DISCORD_API_BASE } : {}), ...(config.DISCORD_CDN_BASE ? { cdn: config.DISCORD_CDN_BASE } : {}) },
  });
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await client.login(access.botToken);
  await ready;
  let agent: VoiceAccessAgent | undefined;
  // Each speaker's Opus, on arrival, as its own RTP stream to the SFU ingest.
  const forwarder = config.PROMETHEAN_SFU_INGEST
    ? await RtpForwarder.open({ destination: parseHostPort(config.PROMETHEAN_SFU_INGEST), onStream: (e) => agent?.onRelayStream(e) })
    : undefined;
  const runtime = new AgentRuntime({
    id: AGENT_ID,
    kind: 'access',
    bus,
    provider: config.PROMETHEAN_PROVIDER,
    tenant: config.PROMETHEAN_TENANT,
    buildSha: config.PROMETHEAN_BUILD_SHA,
    logLevel: config.BRIDGE_LOG_LEVEL,
    queueDepth: () => agent?.queueDepth() ?? 0,
  });
  agent = new VoiceAccessAgent(runtime, new DiscordVoiceGateway(client), {
    provider: config.PROMETHEAN_PROVIDER,
    tenant: config.PROMETHEAN_TENANT,
    allows: access.allows,
    healthIntervalMs: config.BRIDGE_HEALTH_INTERVAL_MS,
    session: { receive: { speaker: { jitter: { playoutDelayMs: config.BRIDGE_PLAYOUT_DELAY_MS } } } },
    sfuRelay: forwarder,
    members: new DiscordVoiceMembers(client),
    presence: new DiscordPresence(client),
    listeners: { announces: (guildId) => access.voice(guildId).announce_listeners },
  });
  agent.start();
  runtime.start();
  const channels = new VoiceChannelsPublisher(client, (p) => runtime.publish('voice.channels', p, { provider: config.PROMETHEAN_PROVIDER, tenant: config.PROMETHEAN_TENANT }), {
    intervalMs: 30_000,
    allows: (guild_id, channel_id) => access.allows({ guild_id, channel_id }),
  });
  let closing: Promise<void> | undefined;
  const a = agent;
  return {
    agent: a,
    runtime,
    client,
    close() {
      closing ??= (async () => {
        channels.close();
        a.stop();
        runtime.stop();
        await forwarder?.close();
        await client.destroy();
        busClient?.close();
      })();
      return closing;
    },
  };
}

/** `host:port` (IPv6 hosts in brackets) → a destination. */
export function parseHostPort(value: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) > 65535) throw new PrometheanError('bad_config', `PROMETHEAN_SFU_INGEST: "${value}" is not host:port`, { path: 'PROMETHEAN_SFU_INGEST' });
  return { host: m[1]!, port: Number(m[2]) };
}

async function main(): Promise<number> {
  let config: BridgeConfig;
  try {
    config = parseBridgeEnv(process.env);
  } catch (error) {
    console.error(`discord-voice-access: ${(error as Error).message}`);
    return 2;
  }
  const bridge = await startBridge(config, undefined, process.env);
  await untilStopped();
  await bridge.close();
  return 0;
}

runAsProgram(import.meta.url, 'discord-voice-access', main);
