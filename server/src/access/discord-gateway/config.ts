/** The discord-gateway process's environment, parsed once with zod (the supervisor sets it). */
import { z } from 'zod';
import { accessEnvShape, parseAccessEnv } from '../shared/config.ts';

export const DiscordGatewayEnv = z.object(accessEnvShape('discord-gateway'));
export type DiscordGatewayConfig = z.infer<typeof DiscordGatewayEnv>;

/** Parses `env`; throws an Error naming the bad field. */
export function parseDiscordGatewayEnv(env: Record<string, string | undefined>): DiscordGatewayConfig {
  return parseAccessEnv(DiscordGatewayEnv, env);
}
