import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../app.ts';
import { CephalonVoicePolicy, parseCephalonVoiceConfig } from '../workers/cephalon-voice/config.ts';
import { writeStandinVoiceBrain } from './standin-brain.ts';

const STANDIN_GUILD = '1100000000000000001';
const OTHER_GUILD = '1100000000000000002';

describe('writeStandinVoiceBrain()', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'standin-brain-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const policyOf = async (file: string) => new CephalonVoicePolicy(parseCephalonVoiceConfig(await readFile(file, 'utf8'), file));

  it('turns the stand-in\'s guild on in a copy of the project\'s cephalon.yml and leaves the original and the rest as they are', async () => {
    const source = join(PROJECT_ROOT, 'cephalon.yml');
    const before = await readFile(source, 'utf8');
    expect((await policyOf(source)).enabled('discord', 'demo', STANDIN_GUILD)).toBe(false);
    const target = await writeStandinVoiceBrain({ source, target: join(dir, 'cephalon-standin.yml'), tenant: 'demo', guildId: STANDIN_GUILD });
    const policy = await policyOf(target);
    expect(policy.enabled('discord', 'demo', STANDIN_GUILD)).toBe(true);
    expect(policy.enabledGuilds()).toEqual([`discord/demo/${STANDIN_GUILD}`]);
    expect(policy.addressed('discord', 'demo', 'Hey Promethean, what colour is the sky?')).toBe(true);
    // Everything else is the owner's file: the voice settings and the text brain's section.
    expect(policy.config).toEqual({ ...parseCephalonVoiceConfig(before), tenants: policy.config.tenants });
    const { parseYamlConfig } = await import('@promethean/shared');
    const copy = parseYamlConfig(await readFile(target, 'utf8'), 'bad_config', target).value as Record<string, unknown>;
    expect(copy.social).toEqual((parseYamlConfig(before, 'bad_config', source).value as Record<string, unknown>).social);
    expect(await readFile(source, 'utf8')).toBe(before);
  });

  it('adds the tenant with the default name when the file lists none, and writes a file of its own when there is no cephalon.yml', async () => {
    const source = join(dir, 'cephalon.yml');
    await writeFile(source, `version: 1\nvoice:\n  cooldown_s: 3\n  tenants:\n    - id: other\n      names: [hal]\n      guilds:\n        - { id: "${OTHER_GUILD}", enabled: true }\n`);
    const policy = await policyOf(await writeStandinVoiceBrain({ source, target: join(dir, 'a.yml'), tenant: 'demo', guildId: STANDIN_GUILD }));
    expect(policy.enabledGuilds().sort()).toEqual([`discord/demo/${STANDIN_GUILD}`, `discord/other/${OTHER_GUILD}`]);
    expect(policy.config.cooldown_s).toBe(3);
    expect(policy.config.tenants.find((t) => t.id === 'demo')?.names).toEqual(['promethean']);

    const none = await policyOf(await writeStandinVoiceBrain({ source: join(dir, 'missing.yml'), target: join(dir, 'b.yml'), tenant: 'demo', guildId: STANDIN_GUILD }));
    expect(none.enabledGuilds()).toEqual([`discord/demo/${STANDIN_GUILD}`]);
  });

  it('replaces an entry of the stand-in\'s guild that is off, and rejects a cephalon.yml that is not YAML with bad_config', async () => {
    const source = join(dir, 'cephalon.yml');
    await writeFile(source, `version: 1\nvoice:\n  tenants:\n    - id: demo\n      names: [promethean]\n      guilds:\n        - { id: "${STANDIN_GUILD}", enabled: false }\n`);
    const policy = await policyOf(await writeStandinVoiceBrain({ source, target: join(dir, 'c.yml'), tenant: 'demo', guildId: STANDIN_GUILD }));
    expect(policy.config.tenants[0]!.guilds).toEqual([{ id: STANDIN_GUILD, enabled: true }]);

    await writeFile(source, 'version: 1\nvoice: [unclosed\n');
    await expect(writeStandinVoiceBrain({ source, target: join(dir, 'd.yml'), tenant: 'demo', guildId: STANDIN_GUILD })).rejects.toMatchObject({ code: 'bad_config' });
  });
});
