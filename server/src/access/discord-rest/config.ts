/** The discord-rest process's environment, parsed once with zod (the supervisor sets it). */
import { z } from 'zod';

export const DiscordRestEnv = z.object({
  PROMETHEAN_HUB_URL: z.string().regex(/^wss?:\/\//, 'must be a ws:// or wss:// URL'),
  PROMETHEAN_AGENT_TOKEN_FILE: z.string().min(1),
  /** The bus key's agent id (one key per tenant: `discord-rest-<tenant>`). */
  PROMETHEAN_AGENT_ID: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/).default('discord-rest'),
  PROMETHEAN_PROVIDERS_FILE: z.string().min(1),
  PROMETHEAN_PROVIDER: z.string().regex(/^[a-z0-9_-]+$/).default('discord'),
  PROMETHEAN_TENANT: z.string().regex(/^[a-z0-9_-]+$/),
  /** File holding the proxy client key clients present as `Bot <key>`. */
  PROMETHEAN_REST_PROXY_KEY_FILE: z.string().min(1),
  PROMETHEAN_REST_PROXY_HOST: z.string().min(1).default('127.0.0.1'),
  PROMETHEAN_REST_PROXY_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  /** A Discord-compatible API base (the stand-in's); Discord's own when unset. */
  DISCORD_API_BASE: z.url().optional(),
  /** The CDN base attachments come from (the stand-in's); Discord's CDN when unset. */
  DISCORD_CDN_BASE: z.url().optional(),
  PROMETHEAN_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
  PROMETHEAN_BUILD_SHA: z.string().default('dev'),
});
export type DiscordRestConfig = z.infer<typeof DiscordRestEnv>;

/** Parses `env`; throws an Error naming the bad field. */
export function parseDiscordRestEnv(env: Record<string, string | undefined>): DiscordRestConfig {
  const r = DiscordRestEnv.safeParse(env);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`${i.path.join('.')}: ${i.message}`);
  }
  return r.data;
}
