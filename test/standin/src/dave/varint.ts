/** MLS variable-length integers and vectors (RFC 9420 §2.1.2): 1, 2 or 4 bytes, top two bits = size. */
import { DaveProtocolError } from './errors.ts';

export function encodeVarint(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0x3fffffff) throw new RangeError(`varint out of range: ${n}`);
  if (n < 0x40) return Buffer.from([n]);
  if (n < 0x4000) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((0x80000000 | n) >>> 0, 0);
  return out;
}

/** Reads a varint at `offset`; returns the value and the offset after it. */
export function decodeVarint(buf: Uint8Array, offset: number): [number, number] {
  const first = buf[offset];
  if (first === undefined) throw new DaveProtocolError('varint past end of buffer');
  const prefix = first >> 6;
  if (prefix === 0) return [first, offset + 1];
  if (prefix === 1) {
    const b = buf[offset + 1];
    if (b === undefined) throw new DaveProtocolError('varint past end of buffer');
    return [((first & 0x3f) << 8) | b, offset + 2];
  }
  if (prefix === 2) {
    if (offset + 4 > buf.length) throw new DaveProtocolError('varint past end of buffer');
    const v = Buffer.from(buf.buffer, buf.byteOffset + offset, 4).readUInt32BE(0) & 0x3fffffff;
    return [v, offset + 4];
  }
  throw new DaveProtocolError('invalid varint prefix 0b11');
}

/** `opaque data<V>`: a varint length then the bytes. */
export function encodeOpaque(data: Uint8Array): Buffer {
  return Buffer.concat([encodeVarint(data.length), data]);
}

/** A vector whose items are already encoded: varint total length, then the items back to back. */
export function encodeVector(items: readonly Uint8Array[]): Buffer {
  const body = Buffer.concat(items);
  return Buffer.concat([encodeVarint(body.length), body]);
}

/** Splits a vector of `opaque<V>` items (e.g. proposal refs). */
export function decodeOpaqueVector(buf: Uint8Array, offset = 0): Buffer[] {
  const [len, start] = decodeVarint(buf, offset);
  const end = start + len;
  if (end > buf.length) throw new DaveProtocolError('vector longer than buffer');
  const items: Buffer[] = [];
  let at = start;
  while (at < end) {
    const [n, s] = decodeVarint(buf, at);
    if (s + n > end) throw new DaveProtocolError('vector item longer than vector');
    items.push(Buffer.from(buf.subarray(s, s + n)));
    at = s + n;
  }
  return items;
}
