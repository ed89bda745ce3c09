import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PrometheanError } from './errors.ts';
import { parseManifestYaml } from './manifest.ts';
import { createAccessHandle, parseProvidersConfig, type AccessHandle } from './providers-registry.ts';

// Variable names here are test stand-ins; real token variable names live only in providers.yml.
const YML = `version: 1
providers:
  discord:
    tenants:
      - id: demo
        app_id: \${TEST_APP_ID:-}
        credentials:
          bot_token: \${TEST_SECRET_TOKEN}
        allow:
          guilds: ["\${TEST_GUILD:-111}", "222"]
          channels: ["333"]
      - id: second-bot
        credentials:
          bot_token: \${TEST_SECOND_TOKEN}
        allow:
          guilds: ["*"]
        rate: { max_concurrent: "\${TEST_CONCURRENCY:-2}" }
        storage: { schema: custom_schema }
  echo:
    tenants:
      - id: demo
        credentials: {}
        allow: { guilds: ["*"] }
`;
const SECRET = 'sk-this-must-never-leak-0123456789';
const ENV = { TEST_SECRET_TOKEN: SECRET, TEST_SECOND_TOKEN: 'second-secret-value' };

const ACCESS = parseManifestYaml(`id: discord-rest
kind: access
version: 0.1.0
binds: { provider: discord, tenants: [demo] }
capabilities: [provider.discord.rest]
`);

function configError(text: string, env: Record<string, string> = ENV): PrometheanError {
  try {
    parseProvidersConfig(text, env);
  } catch (error) {
    if (error instanceof PrometheanError) return error;
    throw error;
  }
  throw new Error('expected bad_config');
}

describe('parseProvidersConfig()', () => {
  it('parses tenants with interpolation, defaults and derived storage names', () => {
    const registry = parseProvidersConfig(YML, { ...ENV, TEST_GUILD: '999' });
    expect(registry.providers()).toEqual(['discord', 'echo']);
    expect(registry.get('discord', 'demo')).toEqual({
      provider: 'discord',
      id: 'demo',
      app_id: undefined,
      allow: { guilds: ['999', '222'], channels: ['333'] },
      rate: { max_concurrent: 4, requests_per_s: 50 },
      storage: { schema: 'discord_demo', vector_namespace: 'discord__demo' },
      credentials: { bot_token: { env: 'TEST_SECRET_TOKEN' } },
      voice: { announce_listeners: true, guilds: [] },
    });
    const second = registry.get('discord', 'second-bot');
    expect(second.rate.max_concurrent).toBe(2);
    expect(second.allow.channels).toEqual(['*']);
    expect(second.storage).toEqual({ schema: 'custom_schema', vector_namespace: 'discord__second-bot' });
    expect(registry.get('discord', 'demo').allow.guilds).toEqual(['999', '222']);
    expect(parseProvidersConfig(YML, ENV).get('discord', 'demo').allow.guilds).toEqual(['111', '222']);
  });

  it('keeps $${ as a literal ${', () => {
    const text = YML.replace('id: second-bot', () => 'id: second-bot\n        app_id: "$${NOT_A_VAR}"');
    expect(parseProvidersConfig(text, ENV).get('discord', 'second-bot').app_id).toBe('${NOT_A_VAR}');
  });

  it('an unset variable in a required field is an error naming the variable and the field', () => {
    const error = configError(YML, { TEST_SECRET_TOKEN: SECRET });
    expect(error.code).toBe('bad_config');
    expect(error.path).toBe('providers.discord.tenants.1.credentials.bot_token');
    expect(error.message).toMatch(/environment variable TEST_SECOND_TOKEN is not set/);
    expect(error.message).toMatch(/^providers\.yml: providers\.discord\.tenants\.1\.credentials\.bot_token: .* \(line 14\)$/);
    // An empty value counts as unset.
    expect(configError(YML, { ...ENV, TEST_SECRET_TOKEN: '' }).message).toMatch(/TEST_SECRET_TOKEN is not set/);
  });

  it('an unset variable in an array entry is an error naming it', () => {
    const error = configError(YML.replace('${TEST_GUILD:-111}', '${TEST_GUILD}'));
    expect(error.path).toBe('providers.discord.tenants.0.allow.guilds.0');
    expect(error.message).toMatch(/TEST_GUILD is not set/);
  });

  it('an unset variable in an optional field leaves the field out', () => {
    const text = YML.replace('app_id: ${TEST_APP_ID:-}', 'app_id: ${TEST_APP_ID}');
    expect(parseProvidersConfig(text, ENV).get('discord', 'demo').app_id).toBeUndefined();
    expect(parseProvidersConfig(text, { ...ENV, TEST_APP_ID: '42' }).get('discord', 'demo').app_id).toBe('42');
  });

  const bad: Array<[string, string, string, RegExp]> = [
    ['a literal secret', YML.replace('${TEST_SECRET_TOKEN}', 'literal-token'), 'providers.discord.tenants.0.credentials.bot_token', /single \$\{NAME\} reference/],
    ['a secret with a default', YML.replace('${TEST_SECRET_TOKEN}', '${TEST_SECRET_TOKEN:-x}'), 'providers.discord.tenants.0.credentials.bot_token', /single \$\{NAME\} reference/],
    ['a bad tenant id', YML.replace('id: demo', 'id: Demo Tenant'), 'providers.discord.tenants.0.id', /token/],
    ['a duplicate tenant', YML.replace('id: second-bot', 'id: demo'), 'providers.discord.tenants.1.id', /duplicate tenant "demo"/],
    ['an unquoted snowflake', YML.replace('"222"', '1100000000000000001'), 'providers.discord.tenants.0.allow.guilds.1', /quote ids/],
    ['a missing discord bot_token', YML.replace('bot_token: ${TEST_SECOND_TOKEN}', 'other: ${TEST_SECOND_TOKEN}'), 'providers.discord.tenants.1.credentials.bot_token', /required/],
    ['an unknown field', YML.replace('allow:\n          guilds: ["*"]', 'allow:\n          guilds: ["*"]\n          guild: ["1"]'), 'providers.discord.tenants.1.allow.guild', /guild/],
    ['an unsupported version', YML.replace('version: 1', 'version: 2'), 'version', /1/],
    ['a bad provider token', YML.replace('  echo:', '  Echo:'), 'providers.Echo', /token/],
    ['a bad reference', YML.replace('${TEST_APP_ID:-}', '${1BAD}'), 'providers.discord.tenants.0.app_id', /not a valid/],
    ['an unterminated reference', YML.replace('"${TEST_GUILD:-111}"', '"${TEST_GUILD"'), 'providers.discord.tenants.0.allow.guilds.0', /unterminated/],
    ['a non-numeric concurrency', YML.replace('"${TEST_CONCURRENCY:-2}"', 'lots'), 'providers.discord.tenants.1.rate.max_concurrent', /number/],
    ['no tenants', YML.replace(/ {2}echo:[\s\S]*$/, '  echo:\n    tenants: []\n'), 'providers.echo.tenants', /tenants/],
  ];
  for (const [name, text, path, message] of bad) {
    it(`rejects ${name} with bad_config at ${path}`, () => {
      const error = configError(text);
      expect(error.code).toBe('bad_config');
      expect(error.path).toBe(path);
      expect(error.message).toContain(path);
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain(SECRET);
    });
  }

  it('reports YAML syntax errors with their line number', () => {
    const error = configError('version: 1\nproviders:\n  discord:\n    tenants: [\n');
    expect(error.code).toBe('bad_config');
    expect(error.message).toMatch(/^providers\.yml: YAML syntax error at line \d+, column \d+/);
    expect(configError('version: 1\nversion: 1\n').message).toMatch(/line 2/);
  });

  it('rejects a document that is not a mapping', () => {
    for (const text of ['', '- 1\n', 'hello']) expect(configError(text).code).toBe('bad_config');
  });
});

describe('ProviderRegistry', () => {
  const registry = parseProvidersConfig(YML, ENV);

  it('JSON.stringify, inspect and tenant views never reveal secret values', () => {
    for (const text of [JSON.stringify(registry), inspect(registry, { depth: 10, showHidden: true }), JSON.stringify(registry.tenants), String(registry)]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('second-secret-value');
    }
    expect(JSON.stringify(registry)).toContain('TEST_SECRET_TOKEN');
  });

  it('secrets() hands an access agent its tenant credentials', () => {
    const handle = createAccessHandle(ACCESS);
    expect(registry.secrets(handle, 'discord', 'demo')).toEqual({ bot_token: SECRET });
    expect(Object.isFrozen(registry.secrets(handle, 'discord', 'demo'))).toBe(true);
  });

  it('secrets() refuses tenants, providers and handles the agent is not bound to', () => {
    const handle = createAccessHandle(ACCESS);
    const forbidden = (fn: () => unknown) => {
      expect(fn).toThrow(PrometheanError);
      try {
        fn();
      } catch (error) {
        expect((error as PrometheanError).code).toBe('forbidden');
        expect((error as Error).message).not.toContain(SECRET);
      }
    };
    forbidden(() => registry.secrets(handle, 'discord', 'second-bot'));
    forbidden(() => registry.secrets(handle, 'echo', 'demo'));
    const forged: AccessHandle = { agent_id: 'discord-rest', provider: 'discord', tenants: ['demo'] };
    forbidden(() => registry.secrets(forged, 'discord', 'demo'));
    forbidden(() => registry.secrets({ ...handle }, 'discord', 'demo'));
  });

  it('createAccessHandle() refuses workers and access agents without a provider capability', () => {
    const worker = parseManifestYaml('id: w\nkind: worker\nversion: 0.1.0\n');
    const bare = parseManifestYaml('id: a\nkind: access\nversion: 0.1.0\nbinds: { provider: discord }\ncapabilities: ["fs.read:/data"]\n');
    for (const manifest of [worker, bare, { ...ACCESS, kind: 'worker' as const }]) {
      expect(() => createAccessHandle(manifest)).toThrow(expect.objectContaining({ code: 'forbidden' }));
    }
  });

  it('get() throws bad_config for an unknown tenant; allows() checks the allow-lists', () => {
    expect(() => registry.get('discord', 'nope')).toThrow(expect.objectContaining({ code: 'bad_config' }));
    expect(registry.allows('discord', 'demo', { guild_id: '111', channel_id: '333' })).toBe(true);
    expect(registry.allows('discord', 'demo', { guild_id: '111', channel_id: '444' })).toBe(false);
    expect(registry.allows('discord', 'demo', { guild_id: '555' })).toBe(false);
    expect(registry.allows('discord', 'second-bot', { guild_id: 'any', channel_id: 'any' })).toBe(true);
    expect(registry.allows('discord', 'nope', { guild_id: '111' })).toBe(false);
  });
});

describe('voice settings (providers.yml `voice:`)', () => {
  const withVoice = (voice: string) => YML.replace('        storage: { schema: custom_schema }\n', () => `        storage: { schema: custom_schema }\n${voice}`);

  it('announce_listeners is on by default for every guild of every tenant, and for unknown tenants', () => {
    const registry = parseProvidersConfig(YML, ENV);
    expect(registry.voiceSettings('discord', 'demo', '111')).toEqual({ announce_listeners: true });
    expect(registry.voiceSettings('discord', 'nope', '111')).toEqual({ announce_listeners: true });
  });

  it('a tenant-level setting applies to every guild; a guild entry overrides it; ${NAME:-false} interpolates to a boolean', () => {
    const text = withVoice(`        voice:
          announce_listeners: \${TEST_ANNOUNCE:-false}
          guilds:
            - id: "1100000000000000001"
              announce_listeners: true
            - id: "1100000000000000002"
`);
    const registry = parseProvidersConfig(text, ENV);
    expect(registry.get('discord', 'second-bot').voice).toEqual({ announce_listeners: false, guilds: [{ id: '1100000000000000001', announce_listeners: true }, { id: '1100000000000000002' }] });
    expect(registry.voiceSettings('discord', 'second-bot', '1100000000000000001')).toEqual({ announce_listeners: true });
    expect(registry.voiceSettings('discord', 'second-bot', '1100000000000000002')).toEqual({ announce_listeners: false });
    expect(registry.voiceSettings('discord', 'second-bot', '999')).toEqual({ announce_listeners: false });
    expect(registry.voiceSettings('discord', 'demo', '999')).toEqual({ announce_listeners: true });
    expect(parseProvidersConfig(text, { ...ENV, TEST_ANNOUNCE: 'true' }).voiceSettings('discord', 'second-bot', '999')).toEqual({ announce_listeners: true });
  });

  it('rejects a non-boolean, an unquoted (numeric) guild id, "*", a duplicate guild and unknown keys, naming the field', () => {
    const bad: Array<[string, string]> = [
      ['        voice: { announce_listeners: sometimes }\n', 'providers.discord.tenants.1.voice.announce_listeners'],
      ['        voice: { guilds: [{ id: 1100000000000000001, announce_listeners: false }] }\n', 'providers.discord.tenants.1.voice.guilds.0.id'],
      ['        voice: { guilds: [{ id: "*", announce_listeners: false }] }\n', 'providers.discord.tenants.1.voice.guilds.0.id'],
      ['        voice: { guilds: [{ id: "1" }, { id: "1" }] }\n', 'providers.discord.tenants.1.voice.guilds.1.id'],
      ['        voice: { announce: true }\n', 'providers.discord.tenants.1.voice.announce'],
    ];
    for (const [voice, path] of bad) {
      const error = configError(withVoice(voice));
      expect(error.code, voice).toBe('bad_config');
      expect(error.path, voice).toBe(path);
    }
  });
});
