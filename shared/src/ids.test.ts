import { describe, expect, it } from 'vitest';
import { UUID_V7_RE, uuidv7 } from './ids.ts';

/** Unix ms encoded in the first 48 bits (RFC 9562 §5.7). */
function timestampOf(id: string): number {
  return parseInt(id.replace(/-/g, '').slice(0, 12), 16);
}

describe('uuidv7()', () => {
  it('matches the RFC 9562 v7 layout: version 7 nibble and 10xx variant', () => {
    for (let i = 0; i < 200; i++) {
      const id = uuidv7();
      expect(id).toMatch(UUID_V7_RE);
      expect(id[14]).toBe('7');
      expect('89ab').toContain(id[19]);
    }
  });

  it('encodes the given millisecond timestamp in the first 48 bits', () => {
    const ms = Date.UTC(2030, 0, 2, 3, 4, 5, 678);
    const id = uuidv7(ms);
    expect(timestampOf(id)).toBe(ms);
    expect(id.slice(0, 13)).toBe(`${ms.toString(16).padStart(12, '0').slice(0, 8)}-${ms.toString(16).padStart(12, '0').slice(8)}`);
  });

  it('is strictly increasing within one millisecond, also past 4096 ids (counter overflow)', () => {
    const ms = Date.UTC(2031, 5, 6);
    const ids = Array.from({ length: 5000 }, () => uuidv7(ms));
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!, `id ${i}`).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    // Overflow borrows the next millisecond instead of wrapping back.
    expect(timestampOf(ids.at(-1)!)).toBeGreaterThanOrEqual(ms);
    expect(timestampOf(ids.at(-1)!)).toBeLessThanOrEqual(ms + 2);
  });

  it('never goes backwards when the clock does', () => {
    const later = Date.UTC(2032, 0, 1);
    const a = uuidv7(later);
    const b = uuidv7(later - 5000);
    expect(b > a).toBe(true);
  });

  it('UUID_V7_RE rejects other versions, variants and upper case', () => {
    expect(UUID_V7_RE.test('0190f2a4-7c1e-4a3b-8d2e-1f2a3b4c5d6e')).toBe(false); // v4
    expect(UUID_V7_RE.test('0190f2a4-7c1e-7a3b-cd2e-1f2a3b4c5d6e')).toBe(false); // variant 110x
    expect(UUID_V7_RE.test('0190F2A4-7C1E-7A3B-8D2E-1F2A3B4C5D6E')).toBe(false);
    expect(UUID_V7_RE.test('0190f2a4-7c1e-7a3b-8d2e-1f2a3b4c5d6e')).toBe(true);
  });
});
