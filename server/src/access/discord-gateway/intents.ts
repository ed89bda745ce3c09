/**
 * The gateway intents the text layer needs, and the check made before and during login: without
 * MESSAGE_CONTENT every message arrives with empty content, so the agent refuses to run (fatal
 * health) and says how to enable it rather than index nothing.
 */
import { GatewayIntentBits } from 'discord.js';

export const REQUIRED_INTENTS = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent] as const;

export const MESSAGE_CONTENT_HOWTO =
  'the Message Content intent is missing: enable it in the Discord Developer Portal → your application → Bot → Privileged Gateway Intents → "Message Content Intent", then restart';

/** Names of required intents absent from `configured`. */
export function missingIntents(configured: readonly number[]): string[] {
  const have = configured.reduce((a, b) => a | b, 0);
  return REQUIRED_INTENTS.filter((i) => (have & i) === 0).map((i) => GatewayIntentBits[i]!);
}

/** The fatal message for a login error, or undefined when it is not about intents. */
export function intentProblem(error: unknown): string | undefined {
  const e = error as { code?: unknown; message?: unknown };
  const text = `${String(e?.code ?? '')} ${String(e?.message ?? '')}`;
  if (/DisallowedIntents|disallowed intent|4014/i.test(text)) return `Discord refused the intents (close 4014): ${MESSAGE_CONTENT_HOWTO}`;
  if (/InvalidIntents|invalid intent|4013/i.test(text)) return 'Discord says the intents value is invalid (close 4013)';
  return undefined;
}
