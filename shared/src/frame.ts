/**
 * Bus frames. A text WebSocket message is one JSON envelope. A binary message is
 * `u32 BE header length | UTF-8 JSON envelope | attachment bytes…`, attachments concatenated in the
 * order and sizes listed in `envelope.attachments`.
 */
import { PrometheanError } from './errors.ts';

export interface DecodedFrame {
  /** The parsed JSON header, not yet validated as an envelope. */
  header: unknown;
  /** Views into the frame's buffer, one per `attachments` entry. */
  attachments: Uint8Array[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Encodes an envelope and its attachments; `attachments` in the envelope is set from their sizes. */
export function encodeFrame(envelope: object, attachments: readonly Uint8Array[] = []): Uint8Array {
  const header = encoder.encode(
    JSON.stringify({ ...envelope, attachments: attachments.map((a) => ({ bytes: a.byteLength })) }),
  );
  let total = 4 + header.byteLength;
  for (const a of attachments) total += a.byteLength;
  const out = new Uint8Array(total);
  new DataView(out.buffer).setUint32(0, header.byteLength, false);
  out.set(header, 4);
  let at = 4 + header.byteLength;
  for (const a of attachments) {
    out.set(a, at);
    at += a.byteLength;
  }
  return out;
}

/** Decodes a binary frame; throws {@link PrometheanError} `bad_frame` or `malformed_json`. */
export function decodeFrame(frame: Uint8Array): DecodedFrame {
  if (frame.byteLength < 4) throw new PrometheanError('bad_frame', `binary frame of ${frame.byteLength} bytes is shorter than its 4-byte header length`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const headerLength = view.getUint32(0, false);
  if (headerLength === 0 || 4 + headerLength > frame.byteLength) {
    throw new PrometheanError('bad_frame', `header length ${headerLength} does not fit a ${frame.byteLength}-byte frame`);
  }
  const header = decodeJson(frame.subarray(4, 4 + headerLength));
  const declared = (header as { attachments?: unknown } | null)?.attachments;
  const attachments: Uint8Array[] = [];
  let at = 4 + headerLength;
  if (declared !== undefined) {
    if (!Array.isArray(declared)) throw new PrometheanError('bad_frame', 'attachments must be an array of { bytes }');
    for (const [i, a] of declared.entries()) {
      const bytes = (a as { bytes?: unknown } | null)?.bytes;
      if (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 0) {
        throw new PrometheanError('bad_frame', `attachments.${i}.bytes must be a non-negative integer`);
      }
      if (at + bytes > frame.byteLength) {
        throw new PrometheanError('bad_frame', `attachment ${i} (${bytes} bytes) runs past the end of the frame`);
      }
      attachments.push(frame.subarray(at, at + bytes));
      at += bytes;
    }
  }
  if (at !== frame.byteLength) {
    throw new PrometheanError('bad_frame', `${frame.byteLength - at} trailing bytes not described by attachments`);
  }
  return { header, attachments };
}

/** Parses UTF-8 JSON bytes; throws {@link PrometheanError} `malformed_json`. */
export function decodeJson(bytes: Uint8Array | string): unknown {
  let text: string;
  try {
    text = typeof bytes === 'string' ? bytes : decoder.decode(bytes);
  } catch (cause) {
    throw new PrometheanError('malformed_json', 'frame is not valid UTF-8', { cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new PrometheanError('malformed_json', `frame is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}
