import { describe, expect, it } from 'vitest';
import { SubscriptionIndex } from './router.ts';

describe('SubscriptionIndex', () => {
  it('match() follows NATS wildcards and returns each subscriber once', () => {
    const index = new SubscriptionIndex<string>(16);
    index.add('a.*.c', 's1');
    index.add('a.>', 's1');
    index.add('a.b', 's2');
    index.add('>', 's3');
    expect([...index.match('a.b.c')].sort()).toEqual(['s1', 's3']);
    expect([...index.match('a.b')].sort()).toEqual(['s1', 's2', 's3']);
    expect([...index.match('a')].sort()).toEqual(['s3']);
    expect([...index.match('x.b.c')]).toEqual(['s3']);
  });

  it('a subscription added or removed after a topic was cached takes effect at once', () => {
    const index = new SubscriptionIndex<string>(16);
    expect(index.match('a.b')).toEqual([]);
    index.add('a.*', 's1');
    expect(index.match('a.b')).toEqual(['s1']);
    index.remove('a.*', 's1');
    expect(index.match('a.b')).toEqual([]);
    expect(index.patternCount).toBe(0);
  });

  it('keeps the cache bounded while still answering correctly for many distinct topics', () => {
    const index = new SubscriptionIndex<string>(8);
    index.add('t.*', 's');
    for (let i = 0; i < 1000; i++) {
      expect(index.match(`t.${i}`)).toEqual(['s']);
      expect(index.cachedTopics).toBeLessThanOrEqual(8);
    }
    expect(index.match('u.1')).toEqual([]);
  });
});
