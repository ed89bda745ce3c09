import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PrometheanError } from '../errors.ts';
import { parseManifestYaml } from '../manifest.ts';
import { createAccessHandle } from '../providers-registry.ts';
import { loadProviders } from './providers.ts';

const REPO_PROVIDERS = fileURLToPath(new URL('../../../providers.yml', import.meta.url));

async function rejection(promise: Promise<unknown>): Promise<PrometheanError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PrometheanError) return error;
    throw error;
  }
  throw new Error('expected a PrometheanError');
}

/** The variable the repo's providers.yml wants for the demo bot token, read from its own error. */
async function tokenVariable(): Promise<string> {
  const error = await rejection(loadProviders(REPO_PROVIDERS, {}));
  const name = /environment variable ([A-Z0-9_]+) is not set/.exec(error.message)?.[1];
  if (!name) throw new Error(`unexpected error: ${error.message}`);
  return name;
}

describe('loadProviders() with the repository providers.yml', () => {
  it('without the token variable fails with bad_config naming the variable and the field', async () => {
    const error = await rejection(loadProviders(REPO_PROVIDERS, {}));
    expect(error.code).toBe('bad_config');
    expect(error.path).toBe('providers.discord.tenants.0.credentials.bot_token');
    expect(error.message.startsWith(REPO_PROVIDERS)).toBe(true);
    expect(await tokenVariable()).toMatch(/^[A-Z][A-Z0-9_]+$/);
  });

  it('with it, declares the discord/demo tenant and hands its token to the access agent only', async () => {
    const variable = await tokenVariable();
    const registry = await loadProviders(REPO_PROVIDERS, { [variable]: 'fake-token-for-tests' });
    const demo = registry.get('discord', 'demo');
    expect(demo.credentials).toEqual({ bot_token: { env: variable } });
    expect(demo.allow.guilds.length).toBeGreaterThan(0);
    expect(demo.storage).toEqual({ schema: 'discord_demo', vector_namespace: 'discord__demo' });
    expect(JSON.stringify(registry)).not.toContain('fake-token-for-tests');
    const access = parseManifestYaml('id: discord-gateway\nkind: access\nversion: 0.1.0\nbinds: { provider: discord, tenants: [demo] }\ncapabilities: [provider.discord.gateway]\n');
    expect(registry.secrets(createAccessHandle(access), 'discord', 'demo')).toEqual({ bot_token: 'fake-token-for-tests' });
  });

  it('reads process.env when no env is passed', async () => {
    const variable = await tokenVariable();
    const before = process.env[variable];
    process.env[variable] = 'fake-from-process-env';
    try {
      const registry = await loadProviders(REPO_PROVIDERS);
      expect(registry.get('discord', 'demo').id).toBe('demo');
    } finally {
      if (before === undefined) delete process.env[variable];
      else process.env[variable] = before;
    }
  });

  it('a missing file is bad_config naming the path', async () => {
    const error = await rejection(loadProviders('/nonexistent/providers.yml', {}));
    expect(error.code).toBe('bad_config');
    expect(error.message).toMatch(/cannot read \/nonexistent\/providers\.yml/);
  });
});
