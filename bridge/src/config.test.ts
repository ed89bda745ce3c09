import { describe, expect, it } from 'vitest';
import { parseBridgeEnv } from './config.ts';

const base = {
  PROMETHEAN_HUB_URL: 'ws://127.0.0.1:8787/bus',
  PROMETHEAN_AGENT_TOKEN_FILE: '/tmp/key',
  PROMETHEAN_TENANT: 'demo',
  PROMETHEAN_PROVIDERS_FILE: '/tmp/providers.yml',
};

describe('parseBridgeEnv', () => {
  it('applies defaults (provider discord, 60 ms playout, 1 s health)', () => {
    const c = parseBridgeEnv(base);
    expect(c.PROMETHEAN_PROVIDER).toBe('discord');
    expect(c.BRIDGE_PLAYOUT_DELAY_MS).toBe(60);
    expect(c.BRIDGE_HEALTH_INTERVAL_MS).toBe(1000);
  });

  it('throws bad_config naming the variable for a bad value', () => {
    expect(() => parseBridgeEnv({ ...base, BRIDGE_PLAYOUT_DELAY_MS: 'soon' })).toThrow(expect.objectContaining({ code: 'bad_config', path: 'BRIDGE_PLAYOUT_DELAY_MS' }));
    expect(() => parseBridgeEnv({ ...base, PROMETHEAN_HUB_URL: 'http://x' })).toThrow(/PROMETHEAN_HUB_URL/);
    const { PROMETHEAN_PROVIDERS_FILE: _, ...noProviders } = base;
    expect(() => parseBridgeEnv(noProviders)).toThrow(/PROMETHEAN_PROVIDERS_FILE/);
  });

  it('reads DISCORD_CDN_BASE as an http(s) URL without a trailing slash, absent by default', () => {
    expect(parseBridgeEnv(base).DISCORD_CDN_BASE).toBeUndefined();
    expect(parseBridgeEnv({ ...base, DISCORD_CDN_BASE: 'http://127.0.0.1:5000/' }).DISCORD_CDN_BASE).toBe('http://127.0.0.1:5000');
    expect(() => parseBridgeEnv({ ...base, DISCORD_CDN_BASE: 'ftp://cdn.example' })).toThrow(expect.objectContaining({ code: 'bad_config', path: 'DISCORD_CDN_BASE' }));
    expect(() => parseBridgeEnv({ ...base, DISCORD_CDN_BASE: 'not a url' })).toThrow(/DISCORD_CDN_BASE/);
  });
});
