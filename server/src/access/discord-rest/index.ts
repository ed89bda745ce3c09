/**
 * discord-rest: the REST access agent for one (provider, tenant). Built on @discordjs/rest (`REST`:
 * per-route buckets, the global limit, 429 handling, retries) and @discordjs/proxy (`proxyRequests`:
 * the HTTP face). Written here: the bus contract (`rest.request` → `rest.response` by corr), the
 * retry cache, PostMessage mapping with nonce + enforce_nonce, proxy client keys, the media path.
 */
import { fileURLToPath } from 'node:url';
import { REST } from '@discordjs/rest';
import type { AgentBus, AgentRuntime, Logger } from '@promethean/shared/node';
import { accessRuntime } from '../shared/runtime.ts';
import { DiscordRestAgent, type DiscordRestAgentOptions } from './agent.ts';
import { RestProxy, defaultRestProxyOptions, type RestProxyOptions } from './proxy.ts';

export { DiscordRestAgent, type DiscordRestAgentOptions } from './agent.ts';
export { RestProxy, defaultRestProxyOptions, type RestProxyOptions } from './proxy.ts';
export { RetryCache, defaultRetryCacheOptions, type RetryCacheOptions } from './dedupe.ts';
export { performRest } from './perform.ts';
export { postMessageRequest, discordNonce, withNonce } from './post-message.ts';
export { loadTenantAccess, type TenantAccess } from '../shared/credentials.ts';

export const DISCORD_REST_MANIFEST = fileURLToPath(new URL('./agent.yml', import.meta.url));

export interface DiscordRestStartOptions {
  bus: AgentBus;
  agentId: string;
  provider: string;
  tenant: string;
  botToken: string;
  /** Discord-compatible API base (`.../api`); Discord's own when undefined. */
  apiBase: string | undefined;
  /** CDN base the media path may fetch from; Discord's CDN when undefined. */
  cdnBase: string | undefined;
  proxy: Partial<RestProxyOptions> & Pick<RestProxyOptions, 'clientKey'>;
  agent: Partial<Pick<DiscordRestAgentOptions, 'cache'>>;
  /** The provider's global limit, requests per second (providers.yml `rate.requests_per_s`; Discord: 50). */
  requestsPerSecond: number;
  /**
   * Requests per second left unused of the global limit. @discordjs/rest counts its one-second
   * window from when it sends; Discord counts from when requests arrive, so a few sent at the end of
   * one second can arrive in the next. Keeping a few in hand absorbs that jitter.
   */
  globalHeadroom: number;
  /**
   * Extra wait after a bucket or global window resets before the next request, ms (@discordjs/rest's
   * `offset`). It must exceed the latency jitter between here and Discord: a window that Discord opened
   * on a late arrival is still open when a request sent too promptly arrives.
   */
  latencyMarginMs: number;
  logLevel: string;
  /** A logger to use instead of one on stdout (tests read what was logged). */
  logger: Logger;
  buildSha: string;
  healthIntervalS: number;
}

export interface RunningDiscordRest {
  runtime: AgentRuntime;
  agent: DiscordRestAgent;
  rest: REST;
  proxy: RestProxy;
  /** Idempotent. */
  close(): Promise<void>;
}

export async function startDiscordRest(o: Partial<DiscordRestStartOptions> & Pick<DiscordRestStartOptions, 'bus' | 'tenant' | 'botToken' | 'proxy'>): Promise<RunningDiscordRest> {
  const provider = o.provider ?? 'discord';
  const globalRequestsPerSecond = Math.max(1, (o.requestsPerSecond ?? 50) - (o.globalHeadroom ?? 5));
  const rest = new REST({ globalRequestsPerSecond, offset: o.latencyMarginMs ?? 100, ...(o.apiBase ? { api: o.apiBase } : {}), ...(o.cdnBase ? { cdn: o.cdnBase } : {}) }).setToken(o.botToken);
  const runtime = accessRuntime('discord-rest', provider, o);
  const agent = new DiscordRestAgent(runtime, rest, { provider, tenant: o.tenant, cache: o.agent?.cache ?? {} });
  const mediaOrigins = o.cdnBase ? [new URL(o.cdnBase).origin] : defaultRestProxyOptions.mediaOrigins;
  const proxy = await RestProxy.start(rest, { mediaOrigins, ...o.proxy, botToken: o.botToken });
  agent.start();
  runtime.start();
  let closing: Promise<void> | undefined;
  return {
    runtime,
    agent,
    rest,
    proxy,
    close() {
      closing ??= (async () => {
        agent.stop();
        runtime.stop();
        await proxy.close();
        rest.clearHashSweeper();
        rest.clearHandlerSweeper();
      })();
      return closing;
    },
  };
}
