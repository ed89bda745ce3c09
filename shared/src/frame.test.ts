import { describe, expect, it } from 'vitest';
import { PrometheanError } from './errors.ts';
import { decodeFrame, decodeJson, encodeFrame } from './frame.ts';

const header = { id: 'x', intent: 'voice.audio.pcm' };

/** Builds a frame by hand: u32 BE length, the header text, then raw bytes. */
function rawFrame(headerText: string, tail: number[] = [], declaredLength?: number): Uint8Array {
  const h = new TextEncoder().encode(headerText);
  const out = new Uint8Array(4 + h.byteLength + tail.length);
  new DataView(out.buffer).setUint32(0, declaredLength ?? h.byteLength, false);
  out.set(h, 4);
  out.set(tail, 4 + h.byteLength);
  return out;
}

function errorOf(fn: () => unknown): PrometheanError {
  try {
    fn();
  } catch (error) {
    if (error instanceof PrometheanError) return error;
    throw error;
  }
  throw new Error('expected a PrometheanError');
}

describe('encodeFrame() / decodeFrame()', () => {
  it('writes the header length as u32 big-endian followed by the JSON header', () => {
    const frame = encodeFrame(header);
    const text = JSON.stringify({ ...header, attachments: [] });
    expect(new DataView(frame.buffer).getUint32(0, false)).toBe(text.length);
    expect(new TextDecoder().decode(frame.subarray(4))).toBe(text);
  });

  for (const count of [0, 1, 3]) {
    it(`round-trips ${count} attachment(s), sizes listed in the header`, () => {
      const attachments = Array.from({ length: count }, (_, i) => Uint8Array.from({ length: 5 + i * 7 }, (_, j) => (i * 31 + j) & 0xff));
      const decoded = decodeFrame(encodeFrame(header, attachments));
      expect(decoded.header).toEqual({ ...header, attachments: attachments.map((a) => ({ bytes: a.byteLength })) });
      expect(decoded.attachments.map((a) => Array.from(a))).toEqual(attachments.map((a) => Array.from(a)));
    });
  }

  it('round-trips an empty attachment between non-empty ones', () => {
    const parts = [Uint8Array.of(1, 2), new Uint8Array(0), Uint8Array.of(3)];
    const decoded = decodeFrame(encodeFrame(header, parts));
    expect(decoded.attachments.map((a) => Array.from(a))).toEqual([[1, 2], [], [3]]);
  });

  it('decodes a frame that is a view into a larger buffer (non-zero byteOffset)', () => {
    const frame = encodeFrame(header, [Uint8Array.of(9, 8, 7)]);
    const big = new Uint8Array(frame.byteLength + 10);
    big.set(frame, 7);
    const decoded = decodeFrame(big.subarray(7, 7 + frame.byteLength));
    expect(Array.from(decoded.attachments[0]!)).toEqual([9, 8, 7]);
  });

  it('overwrites a stale attachments list in the envelope with the real sizes', () => {
    const decoded = decodeFrame(encodeFrame({ ...header, attachments: [{ bytes: 99 }] }, [Uint8Array.of(1)]));
    expect((decoded.header as { attachments: unknown }).attachments).toEqual([{ bytes: 1 }]);
  });
});

describe('decodeFrame() rejects bad frames with bad_frame', () => {
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['empty', new Uint8Array(0), /shorter than its 4-byte/],
    ['shorter than the length prefix', Uint8Array.of(0, 0, 1), /shorter than its 4-byte/],
    ['zero header length', Uint8Array.of(0, 0, 0, 0, 1), /header length 0/],
    ['header length past the end', rawFrame('{}', [], 50), /header length 50/],
    ['header length 0xffffffff', rawFrame('{}', [], 0xffffffff), /header length 4294967295/],
    ['attachments past the end', rawFrame('{"attachments":[{"bytes":4}]}', [1, 2, 3]), /runs past the end/],
    ['second attachment past the end', rawFrame('{"attachments":[{"bytes":1},{"bytes":3}]}', [1, 2, 3]), /attachment 1/],
    ['trailing bytes', rawFrame('{"attachments":[{"bytes":1}]}', [1, 2]), /1 trailing bytes/],
    ['trailing bytes and no attachments', rawFrame('{}', [0]), /1 trailing bytes/],
    ['attachments not an array', rawFrame('{"attachments":{"bytes":1}}', [1]), /must be an array/],
    ['negative attachment size', rawFrame('{"attachments":[{"bytes":-1}]}'), /attachments\.0\.bytes/],
    ['fractional attachment size', rawFrame('{"attachments":[{"bytes":1.5}]}', [1, 2]), /attachments\.0\.bytes/],
    ['attachment entry not an object', rawFrame('{"attachments":[3]}', [1, 2, 3]), /attachments\.0\.bytes/],
  ];
  for (const [name, frame, message] of cases) {
    it(name, () => {
      const error = errorOf(() => decodeFrame(frame));
      expect(error.code).toBe('bad_frame');
      expect(error.message).toMatch(message);
    });
  }
});

describe('malformed JSON', () => {
  it('decodeFrame() throws malformed_json for a header that is not JSON', () => {
    const error = errorOf(() => decodeFrame(rawFrame('{"id":')));
    expect(error.code).toBe('malformed_json');
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it('decodeFrame() throws malformed_json for a header that is not UTF-8', () => {
    const frame = new Uint8Array([0, 0, 0, 3, 0x22, 0xff, 0x22]);
    expect(errorOf(() => decodeFrame(frame)).message).toMatch(/not valid UTF-8/);
  });

  it('decodeJson() accepts text and bytes and rejects truncated JSON', () => {
    expect(decodeJson('{"a":[1,2]}')).toEqual({ a: [1, 2] });
    expect(decodeJson(new TextEncoder().encode('"é"'))).toBe('é');
    for (const bad of ['', '{', '{"a":1,}', 'undefined', "{'a':1}"]) {
      expect(errorOf(() => decodeJson(bad)).code, bad).toBe('malformed_json');
    }
  });

  it('a JSON header that is not an object decodes (the envelope check rejects it later)', () => {
    expect(decodeFrame(rawFrame('null')).header).toBeNull();
    expect(decodeFrame(rawFrame('[1]')).header).toEqual([1]);
  });
});
