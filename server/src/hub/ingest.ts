/**
 * What the hub does with one incoming WebSocket message: size check, decode (text JSON or binary
 * frame), control op or envelope, topic and schema validation. Returns a typed result; never throws.
 */
import { isUtf8 } from 'node:buffer';
import {
  decodeFrame,
  ID_TOKEN_RE,
  type EnvelopeShapeCache,
  isTopicPattern,
  parseEnvelope,
  parseTopic,
  PrometheanError,
  type Envelope,
  type ErrorCode,
} from '@promethean/shared';

export interface ControlOp {
  kind: 'control';
  op: 'subscribe' | 'unsubscribe';
  pattern: string;
  ref: string | undefined;
}

export interface Publish {
  kind: 'publish';
  envelope: Envelope;
  /** The original bytes, forwarded unchanged to subscribers. */
  data: Buffer;
  binary: boolean;
}

/** Why a frame was rejected, and what of it could be read (for the `error` reply). */
export interface Rejection {
  kind: 'reject';
  code: ErrorCode;
  message: string;
  path?: string;
  provider?: string;
  tenant?: string;
  ref_id?: string;
  topic?: string;
}

export type Ingested = ControlOp | Publish | Rejection;

function reject(code: ErrorCode, message: string, header?: unknown, path?: string): Rejection {
  const r: Rejection = { kind: 'reject', code, message };
  if (path !== undefined) r.path = path;
  if (typeof header === 'object' && header !== null && !Array.isArray(header)) {
    const h = header as Record<string, unknown>;
    if (typeof h.provider === 'string' && typeof h.tenant === 'string' && ID_TOKEN_RE.test(h.provider) && ID_TOKEN_RE.test(h.tenant)) {
      r.provider = h.provider;
      r.tenant = h.tenant;
    }
    if (typeof h.id === 'string' && h.id.length <= 128) r.ref_id = h.id;
    if (typeof h.ref === 'string' && h.ref.length <= 128) r.ref_id = h.ref;
    if (typeof h.dst === 'string' && h.dst.length <= 255) r.topic = h.dst;
  }
  return r;
}

function parseControl(obj: Record<string, unknown>): ControlOp | Rejection {
  const { op, pattern, ref } = obj;
  if (ref !== undefined && (typeof ref !== 'string' || ref.length === 0 || ref.length > 128)) {
    return reject('schema', 'control ref must be a string of 1-128 characters', undefined, 'ref');
  }
  if (op !== 'subscribe' && op !== 'unsubscribe') return reject('schema', 'op must be "subscribe" or "unsubscribe"', obj, 'op');
  for (const key of Object.keys(obj)) {
    if (key !== 'op' && key !== 'pattern' && key !== 'ref') return reject('schema', `unknown control field "${key}"`, obj, key);
  }
  if (typeof pattern !== 'string') return reject('schema', 'pattern must be a string', obj, 'pattern');
  if (!isTopicPattern(pattern)) return reject('bad_topic', `"${pattern.slice(0, 300)}" is not a topic pattern`, obj, 'pattern');
  return { kind: 'control', op, pattern, ref };
}

/**
 * The accepted envelope of `data` when its header matches one of the sender's known shapes
 * (envelope-shape.ts: same bytes but for values that pass their fields' checks); else undefined.
 */
function matchShape(data: Buffer, binary: boolean, shapes: EnvelopeShapeCache): Publish | undefined {
  if (!binary) {
    const envelope = shapes.match(data);
    return envelope && { kind: 'publish', envelope, data, binary };
  }
  if (data.byteLength < 4) return undefined;
  const length = data.readUInt32BE(0);
  if (length === 0 || 4 + length > data.byteLength) return undefined;
  const envelope = shapes.match(data.subarray(4, 4 + length));
  if (!envelope) return undefined;
  // The attachments must still fill the frame exactly, as decodeFrame checks.
  let total = 4 + length;
  for (const a of envelope.attachments ?? []) total += a.bytes;
  return total === data.byteLength ? { kind: 'publish', envelope, data, binary } : undefined;
}

/**
 * Decodes and validates one message. `maxBytes` bounds its size (`oversize`). With `shapes` (the
 * sender's), a header shaped like a recent one is accepted without parsing it again, and a fully
 * checked one is remembered for next time.
 */
export function ingest(data: Buffer, binary: boolean, maxBytes: number, shapes?: EnvelopeShapeCache): Ingested {
  if (data.byteLength > maxBytes) {
    return reject('oversize', `${binary ? 'binary' : 'text'} frame of ${data.byteLength} bytes exceeds the ${maxBytes}-byte limit`);
  }
  if (shapes) {
    const matched = matchShape(data, binary, shapes);
    if (matched) return matched;
  }
  let header: unknown;
  try {
    if (binary) {
      const frame = decodeFrame(data);
      header = frame.header;
    } else {
      if (!isUtf8(data)) return reject('malformed_json', 'text frame is not valid UTF-8');
      header = JSON.parse(data.toString('utf8'));
    }
  } catch (cause) {
    if (cause instanceof PrometheanError) return reject(cause.code, cause.message);
    return reject('malformed_json', `frame is not valid JSON: ${(cause as Error).message}`);
  }
  const isObject = typeof header === 'object' && header !== null && !Array.isArray(header);
  if (isObject && !binary && Object.prototype.hasOwnProperty.call(header, 'op')) {
    return parseControl(header as Record<string, unknown>);
  }
  if (isObject && !binary) {
    const attachments = (header as Record<string, unknown>).attachments;
    if (Array.isArray(attachments) && attachments.length > 0) {
      return reject('bad_frame', 'a text frame cannot carry attachments; send a binary frame', header, 'attachments');
    }
  }
  let envelope: Envelope;
  try {
    envelope = parseEnvelope(header);
  } catch (cause) {
    // A valid envelope's dst is always a concrete topic (it equals the topic of its validated
    // provider, tenant and intent), so the bad_topic check is only needed on this failure path.
    const dst = isObject ? (header as Record<string, unknown>).dst : undefined;
    if (typeof dst === 'string' && parseTopic(dst) === undefined) {
      return reject('bad_topic', `dst "${dst.slice(0, 300)}" is not a concrete topic`, header, 'dst');
    }
    const e = cause as PrometheanError;
    return reject(e instanceof PrometheanError ? e.code : 'schema', (e as Error).message, header, e.path);
  }
  if (shapes) shapes.learn(binary ? data.subarray(4, 4 + data.readUInt32BE(0)) : data, header);
  return { kind: 'publish', envelope, data, binary };
}
