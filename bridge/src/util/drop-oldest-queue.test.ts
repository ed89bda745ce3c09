import { describe, expect, it } from 'vitest';
import { DropOldestQueue } from './drop-oldest-queue.ts';

describe('DropOldestQueue', () => {
  it('keeps FIFO order and drops the oldest beyond capacity, counting each drop', () => {
    const q = new DropOldestQueue<number>(3);
    const evicted = [1, 2, 3, 4, 5].map((n) => q.push(n));
    expect(evicted).toEqual([undefined, undefined, undefined, 1, 2]);
    expect(q.dropped).toBe(2);
    expect([q.shift(), q.shift(), q.shift(), q.shift()]).toEqual([3, 4, 5, undefined]);
    expect(q.length).toBe(0);
  });

  it('constructor rejects a capacity below 1 with a RangeError', () => {
    expect(() => new DropOldestQueue(0)).toThrow(RangeError);
  });
});
