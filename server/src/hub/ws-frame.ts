/**
 * Server-to-client WebSocket frames (RFC 6455 §5.2), built once per published message so a fan-out
 * writes the same bytes to every subscriber's socket instead of framing it per subscriber.
 * Server frames are never masked; the hub negotiates no extensions (no permessage-deflate), so a
 * frame is FIN + opcode, the payload length, and the payload.
 */

const OPCODE_TEXT = 0x1;
const OPCODE_BINARY = 0x2;

/** One unfragmented, unmasked frame carrying `payload` as a text or binary message. */
export function encodeServerFrame(payload: Uint8Array, binary: boolean): Buffer {
  const length = payload.byteLength;
  const headerLength = length < 126 ? 2 : length < 0x10000 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x80 | (binary ? OPCODE_BINARY : OPCODE_TEXT);
  if (headerLength === 2) {
    frame[1] = length;
  } else if (headerLength === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 0x100000000), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.set(payload, headerLength);
  return frame;
}
