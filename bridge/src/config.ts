/**
 * The bridge's configuration, read once from the environment at start-up. A bad value stops the
 * process with a message naming the variable; nothing deeper reads `process.env`.
 */
import { z } from 'zod';
import { PrometheanError } from '@promethean/shared';

const Token = z.string().regex(/^[a-z0-9_-]+$/, 'must be [a-z0-9_-]+');

export const BridgeEnv = z.object({
  PROMETHEAN_HUB_URL: z.string().regex(/^wss?:\/\//, 'must be a ws:// or wss:// URL'),
  PROMETHEAN_AGENT_TOKEN_FILE: z.string().min(1),
  PROMETHEAN_PROVIDER: Token.default('discord'),
  PROMETHEAN_TENANT: Token,
  /**
   * providers.yml. The bot token is read from it through this agent's access handle (its manifest,
   * `bridge/agent.yml`, is kind `access` with `provider.discord.*`); the variables it references are
   * passed only to this process.
   */
  PROMETHEAN_PROVIDERS_FILE: z.string().min(1),
  /** REST base of a stand-in (`http://127.0.0.1:<port>/api`); real Discord when absent. */
  DISCORD_API_BASE: z.url().optional(),
  /**
   * CDN base of a stand-in (`http://127.0.0.1:<port>`, its `cdnBase`): avatar URLs in `voice.members`
   * point there; cdn.discordapp.com when absent.
   */
  DISCORD_CDN_BASE: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).transform((u) => u.replace(/\/+$/, '')).optional(),
  /** The SFU's RTP ingest, `host:port` (the supervisor passes it); no relay to an SFU without it. */
  PROMETHEAN_SFU_INGEST: z
    .string()
    .regex(/^[A-Za-z0-9.:[\]-]+:\d{1,5}$/, 'must be host:port')
    .optional(),
  BRIDGE_PLAYOUT_DELAY_MS: z.coerce.number().int().min(0).max(1000).default(60),
  BRIDGE_HEALTH_INTERVAL_MS: z.coerce.number().int().min(100).max(1000).default(1000),
  BRIDGE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PROMETHEAN_BUILD_SHA: z.string().max(64).default('dev'),
});

export type BridgeConfig = z.infer<typeof BridgeEnv>;

/** Parses the environment; throws PrometheanError `bad_config` whose `path` is the variable name. */
export function parseBridgeEnv(env: Record<string, string | undefined>): BridgeConfig {
  const r = BridgeEnv.safeParse(env);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const name = issue.path.map(String).join('.');
  throw new PrometheanError('bad_config', `${name}: ${issue.message}`, { path: name });
}
