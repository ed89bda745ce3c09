import { describe, expect, it } from 'vitest';
import { LeafTracker } from './leaves.ts';

describe('LeafTracker', () => {
  it('add() fills the leftmost free leaf after a remove()', () => {
    const t = new LeafTracker();
    expect([t.add('a'), t.add('b'), t.add('c')]).toEqual([0, 1, 2]);
    expect(t.remove(1)).toBe('b');
    expect(t.add('d')).toBe(1);
    expect(t.add('e')).toBe(3);
    expect(t.entries()).toEqual([[0, 'a'], [1, 'd'], [2, 'c'], [3, 'e']]);
    expect(t.leafOf('c')).toBe(2);
    expect(t.leafOf('b')).toBeUndefined();
  });
});
