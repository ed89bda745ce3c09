import { describe, expect, it } from 'vitest';
import { PrometheanError } from '@promethean/shared';
import { packVectors, unpackVectors } from './wire.ts';

describe('vectors as attachments (f32le rows)', () => {
  const rows = [Float32Array.from([0.5, -1.25, 3e-8]), Float32Array.from([Math.PI, -0, 1e30])];

  it('packVectors writes the bytes that Buffer.writeFloatLE writes', () => {
    const reference = Buffer.alloc(24);
    [...rows[0]!, ...rows[1]!].forEach((x, i) => reference.writeFloatLE(x, i * 4));
    expect(Buffer.from(packVectors(rows, 3))).toEqual(reference);
  });

  it('unpackVectors reads them back, also from a view at an odd byte offset (as a frame attachment is)', () => {
    const packed = packVectors(rows, 3);
    const frame = new Uint8Array(1 + packed.length);
    frame.set(packed, 1);
    const back = unpackVectors(frame.subarray(1), 2, 3);
    expect(back.map((v) => [...v])).toEqual(rows.map((v) => [...v]));
  });

  it('a wrong size, a missing attachment or a non-finite value is a schema error naming the attachment', () => {
    const packed = packVectors(rows, 3);
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        return error instanceof PrometheanError ? [error.code, error.path] : ['not typed'];
      }
      return ['accepted'];
    };
    expect(code(() => unpackVectors(packed.subarray(4), 2, 3, 'attachments.0'))).toEqual(['schema', 'attachments.0']);
    expect(code(() => unpackVectors(undefined, 2, 3, 'attachments.1'))).toEqual(['schema', 'attachments.1']);
    const bad = packVectors([Float32Array.from([1, Number.NaN, 0])], 3);
    expect(code(() => unpackVectors(bad, 1, 3))).toEqual(['schema', 'attachment']);
    const inf = packVectors([Float32Array.from([1, Number.POSITIVE_INFINITY, 0])], 3);
    expect(code(() => unpackVectors(inf, 1, 3))).toEqual(['schema', 'attachment']);
  });

  it('packVectors refuses a row of the wrong length', () => {
    expect(() => packVectors([new Float32Array(2)], 3)).toThrow(PrometheanError);
  });
});
