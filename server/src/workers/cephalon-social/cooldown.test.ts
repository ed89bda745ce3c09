import { describe, expect, it } from 'vitest';
import { ChannelCooldown } from './cooldown.ts';

describe('ChannelCooldown', () => {
  it('tryTake() refuses a channel until its cooldown has passed; channels are independent', () => {
    const c = new ChannelCooldown();
    expect(c.tryTake('a', 1000, 30)).toBe(true);
    expect(c.tryTake('a', 30_999, 30)).toBe(false);
    expect(c.tryTake('b', 2000, 30)).toBe(true);
    expect(c.tryTake('a', 31_000, 30)).toBe(true);
    expect(c.tryTake('a', 31_001, 30)).toBe(false);
  });

  it('a cooldown of 0 never refuses and remembers nothing', () => {
    const c = new ChannelCooldown();
    expect([c.tryTake('a', 0, 0), c.tryTake('a', 0, 0)]).toEqual([true, true]);
    expect(c.size).toBe(0);
  });

  it('is bounded: beyond maxChannels the channel taken longest ago is forgotten', () => {
    const c = new ChannelCooldown(3);
    for (const k of ['a', 'b', 'c', 'd']) expect(c.tryTake(k, 0, 60)).toBe(true);
    expect(c.size).toBe(3);
    expect(c.tryTake('a', 1, 60)).toBe(true);
    expect(c.tryTake('d', 1, 60)).toBe(false);
  });
});
