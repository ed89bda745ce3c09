import { describe, expect, it } from 'vitest';
import { PrometheanError } from './errors.ts';
import { formatUrn, parseUrn } from './urn.ts';

describe('URNs', () => {
  it('formatUrn() and parseUrn() round-trip', () => {
    const parts = { provider: 'discord', kind: 'channel', tenant: 'demo', id: '1234567890' };
    expect(formatUrn(parts)).toBe('urn:discord:channel:demo:1234567890');
    expect(parseUrn(formatUrn(parts))).toEqual(parts);
  });

  it('keeps colons inside the id', () => {
    const parts = { provider: 'bluesky', kind: 'actor', tenant: 'my-bsky', id: 'did:plc:abcd:efg' };
    const urn = formatUrn(parts);
    expect(urn).toBe('urn:bluesky:actor:my-bsky:did:plc:abcd:efg');
    expect(parseUrn(urn)).toEqual(parts);
  });

  it('parseUrn() throws schema for non-URNs, bad tokens and empty ids', () => {
    for (const bad of ['', 'urn:discord:channel:demo', 'urx:discord:channel:demo:1', 'urn:Discord:channel:demo:1', 'urn:discord:chan nel:demo:1', 'urn:discord:channel:demo:', 'urn::channel:demo:1']) {
      expect(() => parseUrn(bad), bad).toThrow(PrometheanError);
      try {
        parseUrn(bad);
      } catch (error) {
        expect((error as PrometheanError).code).toBe('schema');
      }
    }
  });

  it('formatUrn() throws schema for a bad token or an empty id', () => {
    expect(() => formatUrn({ provider: 'discord', kind: 'chan:nel', tenant: 'demo', id: '1' })).toThrow(/bad URN kind/);
    expect(() => formatUrn({ provider: 'discord', kind: 'channel', tenant: 'demo', id: '' })).toThrow(/empty/);
  });
});
