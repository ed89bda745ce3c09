/**
 * What the bridge reads from providers.yml: the bot token, read the way only an access agent may (this
 * agent's manifest earns an access handle, and the provider registry hands the tenant's secrets to that
 * handle alone), and the tenant's allow-list of guilds and channels.
 */
import { fileURLToPath } from 'node:url';
import { PrometheanError, createAccessHandle, type Env, type VoiceSettings } from '@promethean/shared';
import { loadManifest, loadProviders } from '@promethean/shared/node';

export const MANIFEST_FILE = fileURLToPath(new URL('../agent.yml', import.meta.url));

/** Whether the tenant may be joined to this guild (and channel). */
export type AllowCheck = (where: { guild_id: string; channel_id?: string }) => boolean;

export interface ProviderAccess {
  botToken: string;
  /** The tenant's allow-list from providers.yml (`registry.allows`). */
  allows: AllowCheck;
  /** A guild's voice settings from providers.yml (`voice:`, per-guild overrides applied). */
  voice: (guildId: string) => VoiceSettings;
}

/** Loads providers.yml once: the tenant's bot token and its allow-list. */
export async function loadProviderAccess(providersFile: string, provider: string, tenant: string, env: Env): Promise<ProviderAccess> {
  const manifest = await loadManifest(MANIFEST_FILE);
  const handle = createAccessHandle(manifest);
  const registry = await loadProviders(providersFile, env);
  const token = registry.secrets(handle, provider, tenant).bot_token;
  if (!token) throw new PrometheanError('bad_config', `${providersFile}: ${provider}/${tenant} has no credentials.bot_token`, { path: `providers.${provider}.tenants` });
  return { botToken: token, allows: (where) => registry.allows(provider, tenant, where), voice: (guildId) => registry.voiceSettings(provider, tenant, guildId) };
}

export async function loadBotToken(providersFile: string, provider: string, tenant: string, env: Env): Promise<string> {
  return (await loadProviderAccess(providersFile, provider, tenant, env)).botToken;
}
