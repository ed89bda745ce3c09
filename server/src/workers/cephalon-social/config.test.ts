import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PrometheanError } from '@promethean/shared';
import { CephalonSocialPolicy, defaultSocialSettings, loadCephalonSocialConfig, parseCephalonSocialConfig } from './config.ts';

const FILE = `
version: 1
voice:                       # another section: not ours to check
  anything: [1, 2]
social:
  defaults: { cooldown_s: 20, max_tokens: 64 }
  tenants:
    - id: demo
      names: [promethean]
      max_reply_chars: 900
      guilds:
        - id: "1100000000000000001"
          enabled: true
          cooldown_s: 5
        - id: "1100000000000000002"
          enabled: false
        - id: "1100000000000000003"
          enabled: true
          channels: ["1200000000000000001"]
    - provider: slack
      id: acme
      bot_user_id: "42"
      guilds: []
`;

function badConfig(text: string): PrometheanError {
  try {
    parseCephalonSocialConfig(text, 'cephalon.yml');
  } catch (error) {
    expect(error).toBeInstanceOf(PrometheanError);
    expect((error as PrometheanError).code).toBe('bad_config');
    return error as PrometheanError;
  }
  throw new Error('the config was accepted');
}

describe('cephalon.yml social section', () => {
  it('enables only the guilds marked enabled; settings cascade guild > tenant > defaults > built-in', () => {
    const policy = new CephalonSocialPolicy(parseCephalonSocialConfig(FILE));
    expect(policy.enabledGuilds()).toEqual(['discord/demo/1100000000000000001', 'discord/demo/1100000000000000003']);
    expect(policy.guild('discord', 'demo', '1100000000000000002')).toBeUndefined();
    expect(policy.guild('discord', 'other', '1100000000000000001')).toBeUndefined();
    const g = policy.guild('discord', 'demo', '1100000000000000001')!;
    expect(g.settings).toEqual({ ...defaultSocialSettings, cooldownS: 5, maxTokens: 64, maxReplyChars: 900 });
    expect(policy.guild('discord', 'demo', '1100000000000000003')!.settings.cooldownS).toBe(20);
    expect(policy.tenant('discord', 'demo')).toEqual({ names: ['promethean'] });
    expect(policy.tenant('slack', 'acme')).toEqual({ botUserId: '42', names: [] });
  });

  it('a guild channel list admits those channels and threads whose parent is listed', () => {
    const policy = new CephalonSocialPolicy(parseCephalonSocialConfig(FILE));
    const g = policy.guild('discord', 'demo', '1100000000000000003')!;
    expect(g.allowsChannel('1200000000000000001')).toBe(true);
    expect(g.allowsChannel('1200000000000000009')).toBe(false);
    expect(g.allowsChannel('1300000000000000000', '1200000000000000001')).toBe(true);
    expect(policy.guild('discord', 'demo', '1100000000000000001')!.allowsChannel('anything')).toBe(true);
  });

  it('no social section (or an empty file section) means replies are off everywhere', () => {
    const policy = new CephalonSocialPolicy(parseCephalonSocialConfig('version: 1\n'));
    expect(policy.enabledGuilds()).toEqual([]);
    expect(policy.guild('discord', 'demo', '1100000000000000001')).toBeUndefined();
  });

  it('rejects bad fields with the path and line', () => {
    expect(badConfig('version: 1\nsocial:\n  tenants:\n    - id: demo\n      guilds:\n        - id: 1100000000000000001\n          enabled: true\n').message)
      .toMatch(/^cephalon\.yml: social\.tenants\.0\.guilds\.0\.id: .*quoted snowflake.*\(line 6\)$/);
    expect(badConfig('version: 1\nsocial:\n  tenants:\n    - id: demo\n      guilds:\n        - id: "1"\n').message).toMatch(/social\.tenants\.0\.guilds\.0\.enabled/);
    expect(badConfig('version: 1\nsocial:\n  tenants:\n    - id: demo\n      guilds: []\n      colour: red\n').message).toMatch(/social\.tenants\.0\.colour/);
    expect(badConfig('version: 1\nsocial:\n  defaults: { max_reply_chars: 5000 }\n').message).toMatch(/social\.defaults\.max_reply_chars/);
    expect(badConfig('version: 2\n').message).toMatch(/^cephalon\.yml: version:/);
    expect(badConfig('version: 1\nsocial: [\n').message).toMatch(/YAML syntax error at line/);
  });

  it('rejects a tenant or a guild listed twice', () => {
    expect(badConfig('version: 1\nsocial:\n  tenants:\n    - { id: demo, guilds: [] }\n    - { id: demo, guilds: [] }\n').message).toMatch(/social\.tenants\.1\.id: discord\/demo is listed twice \(line 5\)/);
    expect(badConfig('version: 1\nsocial:\n  tenants:\n    - id: demo\n      guilds:\n        - { id: "1", enabled: true }\n        - { id: "1", enabled: false }\n').message).toMatch(/social\.tenants\.0\.guilds\.1\.id: guild 1 is listed twice/);
  });

  it('the cephalon.yml shipped at the root parses and turns replies on nowhere', async () => {
    const config = await loadCephalonSocialConfig(fileURLToPath(new URL('../../../../cephalon.yml', import.meta.url)));
    expect(config.tenants.map((t) => t.id)).toEqual(['demo']);
    expect(new CephalonSocialPolicy(config).enabledGuilds()).toEqual([]);
    await expect(loadCephalonSocialConfig('/nonexistent/cephalon.yml')).rejects.toMatchObject({ code: 'bad_config' });
  });
});
