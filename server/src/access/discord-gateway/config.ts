/** The discord-gateway process's environment, parsed once with zod (the supervisor sets it). */
import { z } from 'zod';

export const DiscordGatewayEnv = z.object({
  PROMETHEAN_HUB_URL: z.string().regex(/^wss?:\/\//, 'must be a ws:// or wss:// URL'),
  PROMETHEAN_AGENT_TOKEN_FILE: z.string().min(1),
  /** The bus key's agent id (one key per tenant: `discord-gateway-<tenant>`). */
  PROMETHEAN_AGENT_ID: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/).default('discord-gateway'),
  PROMETHEAN_PROVIDERS_FILE: z.string().min(1),
  PROMETHEAN_PROVIDER: z.string().regex(/^[a-z0-9_-]+$/).default('discord'),
  PROMETHEAN_TENANT: z.string().regex(/^[a-z0-9_-]+$/),
  /** A Discord-compatible API base (the stand-in's); Discord's own when unset. */
  DISCORD_API_BASE: z.url().optional(),
  PROMETHEAN_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
  PROMETHEAN_BUILD_SHA: z.string().default('dev'),
});
export type DiscordGatewayConfig = z.infer<typeof DiscordGatewayEnv>;

export function parseDiscordGatewayEnv(env: Record<string, string | undefined>): DiscordGatewayConfig {
  const r = DiscordGatewayEnv.safeParse(env);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`${i.path.join('.')}: ${i.message}`);
  }
  return r.data;
}
