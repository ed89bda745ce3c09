/**
 * DAVE opcodes on the voice WebSocket (v8) and the binary framing they travel in.
 * Server → client binary: `u16 BE seq | u8 op | payload`; client → server binary: `u8 op | payload`.
 */
import { DaveProtocolError } from './errors.ts';

/** The DAVE opcodes; JSON ones carry `{ op, d }`, binary ones use the framing above. */
export const DaveOp = {
  PrepareTransition: 21,
  ExecuteTransition: 22,
  TransitionReady: 23,
  PrepareEpoch: 24,
  MlsExternalSender: 25,
  MlsKeyPackage: 26,
  MlsProposals: 27,
  MlsCommitWelcome: 28,
  MlsAnnounceCommitTransition: 29,
  MlsWelcome: 30,
  MlsInvalidCommitWelcome: 31,
} as const;
export type DaveOpcode = (typeof DaveOp)[keyof typeof DaveOp];

/** Binary opcodes a client may send. */
export const CLIENT_BINARY_OPS: ReadonlySet<number> = new Set([DaveOp.MlsKeyPackage, DaveOp.MlsCommitWelcome]);
/** Binary opcodes a server may send. */
export const SERVER_BINARY_OPS: ReadonlySet<number> = new Set([
  DaveOp.MlsExternalSender,
  DaveOp.MlsProposals,
  DaveOp.MlsAnnounceCommitTransition,
  DaveOp.MlsWelcome,
]);

/** The exact Opus silence frame; it is never end-to-end encrypted. */
export const OPUS_SILENCE = Buffer.from([0xf8, 0xff, 0xfe]);

/** Proposal operation byte of op 27. */
export const ProposalsOp = { Append: 0, Revoke: 1 } as const;

export interface BinaryMessage {
  op: number;
  payload: Buffer;
}

/** Encodes a server → client binary frame. */
export function encodeServerBinary(seq: number, op: number, payload: Uint8Array): Buffer {
  const out = Buffer.alloc(3 + payload.length);
  out.writeUInt16BE(seq & 0xffff, 0);
  out.writeUInt8(op, 2);
  out.set(payload, 3);
  return out;
}

/** Decodes a server → client binary frame (what a client reads). */
export function decodeServerBinary(frame: Uint8Array): BinaryMessage & { seq: number } {
  if (frame.length < 3) throw new DaveProtocolError(`server binary frame too short (${frame.length} bytes)`);
  const buf = Buffer.from(frame.buffer, frame.byteOffset, frame.length);
  const op = buf.readUInt8(2);
  if (!SERVER_BINARY_OPS.has(op)) throw new DaveProtocolError(`unknown server binary opcode ${op}`);
  return { seq: buf.readUInt16BE(0), op, payload: buf.subarray(3) };
}

/** Encodes a client → server binary frame. */
export function encodeClientBinary(op: number, payload: Uint8Array): Buffer {
  const out = Buffer.alloc(1 + payload.length);
  out.writeUInt8(op, 0);
  out.set(payload, 1);
  return out;
}

/** Decodes a client → server binary frame; throws DaveProtocolError on an empty frame or unknown op. */
export function decodeClientBinary(frame: Uint8Array): BinaryMessage {
  if (frame.length < 1) throw new DaveProtocolError('empty client binary frame');
  const buf = Buffer.from(frame.buffer, frame.byteOffset, frame.length);
  const op = buf.readUInt8(0);
  if (!CLIENT_BINARY_OPS.has(op)) throw new DaveProtocolError(`unknown client binary opcode ${op}`);
  return { op, payload: buf.subarray(1) };
}

/** Prefixes a body with a u16 BE transition id (ops 29 and 30). */
export function withTransitionId(transitionId: number, body: Uint8Array): Buffer {
  const out = Buffer.alloc(2 + body.length);
  out.writeUInt16BE(transitionId & 0xffff, 0);
  out.set(body, 2);
  return out;
}
