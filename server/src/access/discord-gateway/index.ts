/**
 * discord-gateway: the gateway access agent for one (provider, tenant). Built on discord.js
 * (`Client`: the gateway connection, heartbeats, resume, caches); written here: the intent check,
 * allow-list, sequence accounting, and what is published on the bus.
 */
import { fileURLToPath } from 'node:url';
import { Client } from 'discord.js';
import { PrometheanError } from '@promethean/shared';
import type { AgentBus, AgentRuntime, Logger } from '@promethean/shared/node';
import { accessRuntime } from '../shared/runtime.ts';
import { DiscordGatewayAgent } from './agent.ts';
import { REQUIRED_INTENTS, intentProblem, missingIntents, MESSAGE_CONTENT_HOWTO } from './intents.ts';

export { DiscordGatewayAgent, type DiscordGatewayAgentOptions } from './agent.ts';
export { SequenceTracker } from './sequence.ts';
export { toSocialMessage } from './normalize.ts';
export { REQUIRED_INTENTS, MESSAGE_CONTENT_HOWTO, missingIntents, intentProblem } from './intents.ts';

export const DISCORD_GATEWAY_MANIFEST = fileURLToPath(new URL('./agent.yml', import.meta.url));

export interface DiscordGatewayStartOptions {
  bus: AgentBus;
  agentId: string;
  provider: string;
  tenant: string;
  botToken: string;
  allows: (where: { guild_id: string; channel_id?: string }) => boolean;
  /** Discord-compatible API base; Discord's own when undefined. */
  apiBase: string | undefined;
  /** Gateway intents to ask for (default: the required ones). */
  intents: number[];
  logLevel: string;
  logger: Logger;
  buildSha: string;
  healthIntervalS: number;
}

export interface RunningDiscordGateway {
  runtime: AgentRuntime;
  agent: DiscordGatewayAgent;
  client: Client;
  close(): Promise<void>;
}

/** The agent cannot run (intents); its health said so with state STOPPED and the reason. */
export class GatewayFatalError extends PrometheanError {
  override name = 'GatewayFatalError';
}

export async function startDiscordGateway(o: Partial<DiscordGatewayStartOptions> & Pick<DiscordGatewayStartOptions, 'bus' | 'tenant' | 'botToken' | 'allows'>): Promise<RunningDiscordGateway> {
  const provider = o.provider ?? 'discord';
  const intents = o.intents ?? [...REQUIRED_INTENTS];
  const runtime = accessRuntime('discord-gateway', provider, o);
  const fatal = (message: string, cause?: unknown): GatewayFatalError => {
    runtime.count('gateway.fatal');
    runtime.publish('health', { ...runtime.health(), state: 'STOPPED', reason: `fatal: ${message}`.slice(0, 500) }, { provider, tenant: o.tenant });
    runtime.publish('error', { code: 'bad_config', message, retryable: false }, { provider, tenant: o.tenant });
    runtime.log.error({ event: 'fatal' }, message);
    runtime.stop();
    return new GatewayFatalError('bad_config', message, { cause });
  };
  const missing = missingIntents(intents);
  if (missing.length > 0) throw fatal(missing.includes('MessageContent') ? MESSAGE_CONTENT_HOWTO : `missing gateway intents: ${missing.join(', ')}`);
  const client = new Client({ intents, ...(o.apiBase ? { rest: { api: o.apiBase } } : {}) });
  const agent = new DiscordGatewayAgent(runtime, client, { provider, tenant: o.tenant, allows: o.allows });
  agent.start();
  try {
    await client.login(o.botToken);
  } catch (error) {
    agent.stop();
    await client.destroy();
    const problem = intentProblem(error);
    if (problem) throw fatal(problem, error);
    runtime.stop();
    // discord.js errors name no token; pass the message on without the error object.
    throw new PrometheanError('unavailable', `discord-gateway: login failed: ${(error as Error).message}`);
  }
  runtime.start();
  let closing: Promise<void> | undefined;
  return {
    runtime,
    agent,
    client,
    close() {
      closing ??= (async () => {
        agent.stop();
        runtime.stop();
        await client.destroy();
      })();
      return closing;
    },
  };
}
