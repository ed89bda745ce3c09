import { describe, expect, it } from 'vitest';
import { CephalonVoicePolicy, parseCephalonVoiceConfig } from './config.ts';

const FILE = `version: 1
social:
  tenants: []
voice:
  cooldown_s: 5
  tenants:
    - id: demo
      names: [promethean, "Prométhée"]
      guilds:
        - { id: "1100000000000000001", enabled: true }
        - { id: "1100000000000000002", enabled: false }
`;

describe('cephalon.yml voice section', () => {
  it('turns on only the guilds marked enabled, and knows the bot by its names as whole words, any case or accent', () => {
    const policy = new CephalonVoicePolicy(parseCephalonVoiceConfig(FILE));
    expect(policy.enabledGuilds()).toEqual(['discord/demo/1100000000000000001']);
    expect(policy.enabled('discord', 'demo', '1100000000000000002')).toBe(false);
    expect(policy.addressed('discord', 'demo', 'Hey PROMETHEAN, what time is it?')).toBe(true);
    expect(policy.addressed('discord', 'demo', 'prometheanism is not a word')).toBe(false);
    expect(policy.addressed('discord', 'demo', 'dis-moi, promethee')).toBe(true);
    // A tenant the file does not list answers to the default name only (in a guild an owner turns on from the console).
    expect(policy.addressed('discord', 'other', 'promethean?')).toBe(true);
    expect(policy.addressed('discord', 'other', 'Prométhée?')).toBe(false);
    expect(policy.enabled('discord', 'other', '1100000000000000001')).toBe(false);
    expect(policy.config.cooldown_s).toBe(5);
  });

  it('without a voice section answers nowhere; a bad field is a bad_config error naming it and its line', () => {
    expect(new CephalonVoicePolicy(parseCephalonVoiceConfig('version: 1\n')).enabledGuilds()).toEqual([]);
    expect(() => parseCephalonVoiceConfig('version: 1\nvoice:\n  tenants:\n    - id: demo\n      names: []\n      guilds: []\n')).toThrow(
      expect.objectContaining({ code: 'bad_config', message: expect.stringMatching(/voice\.tenants\.0\.names.*line 5/) }),
    );
  });
});

describe('cephalon-voice manifest', () => {
  it('agent.yml is a tokenless worker that publishes replies (and asks for the console switches) only', async () => {
    const { loadManifest } = await import('@promethean/shared/node');
    const m = await loadManifest(new URL('./agent.yml', import.meta.url).pathname);
    expect(m).toMatchObject({ id: 'cephalon-voice', kind: 'worker', outputs: ['duck.reply.message', 'cephalon.toggles.query', 'health', 'error'] });
    expect(m.capabilities.some((c) => c.kind === 'provider')).toBe(false);
  });
});
