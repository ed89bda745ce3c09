import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBotToken, loadProviderAccess } from './credentials.ts';
import { PROVIDERS_FILE } from './integration/harness.ts';

describe('loadBotToken', () => {
  let dir: string;
  let file: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bridge-cred-'));
    file = join(dir, 'providers.yml');
    const yml = (await readFile(PROVIDERS_FILE, 'utf8')).replace(/bot_token: \$\{[A-Z_]+\}/, 'bot_token: ${BRIDGE_TEST_CREDENTIAL}');
    await writeFile(file, yml);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('returns the tenant bot token through the agent manifest access handle', async () => {
    expect(await loadBotToken(file, 'discord', 'demo', { BRIDGE_TEST_CREDENTIAL: 'secret-value-1' })).toBe('secret-value-1');
  });

  it('names the unset variable when the credential is missing', async () => {
    await expect(loadBotToken(file, 'discord', 'demo', {})).rejects.toThrow(/BRIDGE_TEST_CREDENTIAL is not set/);
  });

  it('refuses a tenant that providers.yml does not have', async () => {
    await expect(loadBotToken(file, 'discord', 'nope', { BRIDGE_TEST_CREDENTIAL: 'x' })).rejects.toThrow(expect.objectContaining({ code: 'bad_config' }));
  });

  it('exposes the tenant allow-list: DISCORD_GUILD_ID (or its default) is admitted, other guilds are not', async () => {
    const set = await loadProviderAccess(file, 'discord', 'demo', { BRIDGE_TEST_CREDENTIAL: 'x', DISCORD_GUILD_ID: '1234567890123456789' });
    expect(set.allows({ guild_id: '1234567890123456789', channel_id: '42' })).toBe(true);
    expect(set.allows({ guild_id: '1100000000000000001', channel_id: '42' })).toBe(false);
    const unset = await loadProviderAccess(file, 'discord', 'demo', { BRIDGE_TEST_CREDENTIAL: 'x' });
    expect(unset.allows({ guild_id: '1100000000000000001', channel_id: '42' })).toBe(true);
    expect(unset.allows({ guild_id: '1234567890123456789', channel_id: '42' })).toBe(false);
  });
});
