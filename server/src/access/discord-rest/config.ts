/** The discord-rest process's environment, parsed once with zod (the supervisor sets it). */
import { z } from 'zod';
import { accessEnvShape, parseAccessEnv } from '../shared/config.ts';

export const DiscordRestEnv = z.object({
  ...accessEnvShape('discord-rest'),
  /** File holding the proxy client key clients present as `Bot <key>`. */
  PROMETHEAN_REST_PROXY_KEY_FILE: z.string().min(1),
  PROMETHEAN_REST_PROXY_HOST: z.string().min(1).default('127.0.0.1'),
  PROMETHEAN_REST_PROXY_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  /** The CDN base attachments come from (the stand-in's); Discord's CDN when unset. */
  DISCORD_CDN_BASE: z.url().optional(),
});
export type DiscordRestConfig = z.infer<typeof DiscordRestEnv>;

/** Parses `env`; throws an Error naming the bad field. */
export function parseDiscordRestEnv(env: Record<string, string | undefined>): DiscordRestConfig {
  return parseAccessEnv(DiscordRestEnv, env);
}
