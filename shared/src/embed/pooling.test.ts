import { describe, expect, it } from 'vitest';
import { cosineSimilarity, l2Normalize, meanPool } from './pooling.ts';

describe('meanPool', () => {
  it('averages only the unmasked tokens of each row', () => {
    // batch 2, tokens 3, dims 2; row 0 masks its last token, row 1 keeps all three.
    const hidden = new Float32Array([1, 2, 3, 4, 100, 100, /* row 1 */ 1, 1, 2, 2, 3, 3]);
    const [a, b] = meanPool(hidden, [1, 1, 0, 1, 1, 1], 2, 3, 2);
    expect([...a!]).toEqual([2, 3]);
    expect([...b!]).toEqual([2, 2]);
  });

  it('accepts a bigint mask (transformers.js int64 tensors)', () => {
    const [v] = meanPool([2, 4, 6, 8], [1n, 0n], 1, 2, 2);
    expect([...v!]).toEqual([2, 4]);
  });

  it('gives zeros for a row with no unmasked token', () => {
    const [v] = meanPool([5, 5], [0], 1, 1, 2);
    expect([...v!]).toEqual([0, 0]);
  });

  it('throws RangeError when the shapes do not match', () => {
    expect(() => meanPool([1, 2, 3], [1], 1, 1, 2)).toThrow(RangeError);
    expect(() => meanPool([1, 2], [1, 1], 1, 1, 2)).toThrow(RangeError);
  });
});

describe('l2Normalize and cosineSimilarity', () => {
  it('scales to unit length (3-4-5) and leaves a zero vector at zero', () => {
    expect([...l2Normalize(new Float32Array([3, 4]))]).toEqual([Math.fround(0.6), Math.fround(0.8)]);
    expect([...l2Normalize(new Float32Array([0, 0]))]).toEqual([0, 0]);
  });

  it('cosine is 1 for parallel, 0 for orthogonal, -1 for opposite vectors', () => {
    expect(cosineSimilarity([1, 2], [2, 4])).toBeCloseTo(1, 12);
    expect(cosineSimilarity([1, 0], [0, 3])).toBe(0);
    expect(cosineSimilarity([1, 1], [-1, -1])).toBeCloseTo(-1, 12);
    expect(cosineSimilarity([0, 0], [1, 1])).toBe(0);
    expect(() => cosineSimilarity([1], [1, 2])).toThrow(RangeError);
  });
});
