/**
 * What an access agent reads from providers.yml: its tenant's bot token (through the access handle
 * only an access agent's manifest earns) and the tenant's allow-list and settings. Used by
 * discord-rest and discord-gateway; the token is returned to the caller and logged nowhere.
 */
import { PrometheanError, createAccessHandle, type Env, type TenantConfig } from '@promethean/shared';
import { loadManifest } from '@promethean/shared/node';
import { loadProvidersForStart } from '../../supervisor/providers.ts';

export interface TenantAccess {
  botToken: string;
  tenant: TenantConfig;
  /** Whether a guild (and channel) is on the tenant's allow-list. */
  allows: (where: { guild_id: string; channel_id?: string }) => boolean;
}

export async function loadTenantAccess(manifestFile: string, providersFile: string, provider: string, tenant: string, env: Env): Promise<TenantAccess> {
  const handle = createAccessHandle(await loadManifest(manifestFile));
  // Other tenants' credential variables are not in this process's environment (each agent gets only
  // its own); they load as placeholders. This tenant's own must be set.
  const { registry, missingCredentials } = await loadProvidersForStart(providersFile, env);
  const config = registry.tenants.find((t) => t.provider === provider && t.id === tenant);
  if (!config) throw new PrometheanError('bad_config', `${providersFile}: no tenant ${provider}/${tenant}`, { path: `providers.${provider}.tenants` });
  const own = Object.values(config.credentials).map((c) => c.env).filter((name) => missingCredentials.includes(name));
  if (own.length > 0) throw new PrometheanError('bad_config', `${providersFile}: ${provider}/${tenant}: environment variable ${own[0]} is not set`, { path: `providers.${provider}.tenants` });
  const token = registry.secrets(handle, provider, tenant).bot_token;
  if (!token) throw new PrometheanError('bad_config', `${providersFile}: ${provider}/${tenant} has no credentials.bot_token`, { path: `providers.${provider}.tenants` });
  return { botToken: token, tenant: config, allows: (where) => registry.allows(provider, tenant, where) };
}
