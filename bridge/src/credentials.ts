/**
 * The bot token, read the way only an access agent may: this agent's manifest earns an access handle,
 * and the provider registry hands the tenant's secrets to that handle alone.
 */
import { fileURLToPath } from 'node:url';
import { PrometheanError, createAccessHandle, type Env } from '@promethean/shared';
import { loadManifest, loadProviders } from '@promethean/shared/node';

export const MANIFEST_FILE = fileURLToPath(new URL('../agent.yml', import.meta.url));

export async function loadBotToken(providersFile: string, provider: string, tenant: string, env: Env): Promise<string> {
  const manifest = await loadManifest(MANIFEST_FILE);
  const handle = createAccessHandle(manifest);
  const registry = await loadProviders(providersFile, env);
  const token = registry.secrets(handle, provider, tenant).bot_token;
  if (!token) throw new PrometheanError('bad_config', `${providersFile}: ${provider}/${tenant} has no credentials.bot_token`, { path: `providers.${provider}.tenants` });
  return token;
}
