/**
 * RTP header parse/build for Discord voice, including the RFC 8285 one-byte header extension
 * (`BE DE`) that real Discord clients send. Browser-safe.
 *
 * In the rtpsize encryption modes the clear part of a packet is the 12-byte fixed header, the CSRCs
 * and, when X is set, the 4-byte extension header (profile + length); the extension *body* travels
 * inside the ciphertext, in front of the Opus frame.
 */
import { PrometheanError } from '../../errors.ts';
import { RTP_PAYLOAD_TYPE_OPUS } from './opcodes.ts';

/** A packet that is not RTP or is cut short. */
export class RtpParseError extends PrometheanError {
  override name = 'RtpParseError';
  constructor(message: string) {
    super('bad_frame', message);
  }
}

/** The one-byte extension profile marker. */
export const ONE_BYTE_EXTENSION_PROFILE = 0xbede;

export interface RtpHeader {
  version: number;
  padding: boolean;
  extension: boolean;
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  csrcs: number[];
  /** Bytes sent in clear (the AEAD additional data): 12 + 4·CSRC + 4 when X is set. */
  clearLength: number;
  /** Extension profile (0xBEDE for one-byte) when X is set. */
  extensionProfile: number | undefined;
  /** Extension body length in 32-bit words (the body itself is encrypted in rtpsize modes). */
  extensionWords: number;
}

/** Parses the clear RTP header. Throws {@link RtpParseError} on short or non-v2 packets. */
export function parseRtpHeader(packet: Uint8Array): RtpHeader {
  if (packet.byteLength < 12) throw new RtpParseError(`RTP packet of ${packet.byteLength} bytes is shorter than 12`);
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const b0 = packet[0] as number;
  const b1 = packet[1] as number;
  const version = b0 >> 6;
  if (version !== 2) throw new RtpParseError(`RTP version ${version} is not 2`);
  const csrcCount = b0 & 0x0f;
  const extension = (b0 & 0x10) !== 0;
  let clearLength = 12 + 4 * csrcCount;
  if (packet.byteLength < clearLength + (extension ? 4 : 0)) {
    throw new RtpParseError(`RTP packet of ${packet.byteLength} bytes is shorter than its header`);
  }
  const csrcs: number[] = [];
  for (let i = 0; i < csrcCount; i++) csrcs.push(view.getUint32(12 + 4 * i, false));
  let extensionProfile: number | undefined;
  let extensionWords = 0;
  if (extension) {
    extensionProfile = view.getUint16(clearLength, false);
    extensionWords = view.getUint16(clearLength + 2, false);
    clearLength += 4;
  }
  return {
    version,
    padding: (b0 & 0x20) !== 0,
    extension,
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequence: view.getUint16(2, false),
    timestamp: view.getUint32(4, false),
    ssrc: view.getUint32(8, false),
    csrcs,
    clearLength,
    extensionProfile,
    extensionWords,
  };
}

/** One element of a one-byte header extension: id 1–14, 1–16 bytes of data. */
export interface RtpExtensionElement {
  id: number;
  data: Uint8Array;
}

export interface RtpHeaderFields {
  sequence: number;
  timestamp: number;
  ssrc: number;
  /** Defaults to 120 (Opus). */
  payloadType?: number;
  marker?: boolean;
  /** When given, X is set and the 4-byte `BE DE` header is appended with the body's length. */
  extension?: readonly RtpExtensionElement[];
}

export interface BuiltRtpHeader {
  /** The clear header (12 or 16 bytes), used as AEAD additional data. */
  clear: Uint8Array;
  /** The extension body (padded to 32 bits) that goes in front of the payload, inside the ciphertext. */
  extensionBody: Uint8Array;
}

/** Builds the clear header and, when extension elements are given, the one-byte extension body. */
export function buildRtpHeader(fields: RtpHeaderFields): BuiltRtpHeader {
  const body = fields.extension ? encodeOneByteExtension(fields.extension) : new Uint8Array(0);
  const withExtension = fields.extension !== undefined;
  const clear = new Uint8Array(withExtension ? 16 : 12);
  const view = new DataView(clear.buffer);
  clear[0] = withExtension ? 0x90 : 0x80;
  clear[1] = ((fields.marker ? 0x80 : 0) | ((fields.payloadType ?? RTP_PAYLOAD_TYPE_OPUS) & 0x7f)) & 0xff;
  view.setUint16(2, fields.sequence & 0xffff, false);
  view.setUint32(4, fields.timestamp >>> 0, false);
  view.setUint32(8, fields.ssrc >>> 0, false);
  if (withExtension) {
    view.setUint16(12, ONE_BYTE_EXTENSION_PROFILE, false);
    view.setUint16(14, body.byteLength / 4, false);
  }
  return { clear, extensionBody: body };
}

/** Encodes one-byte extension elements, zero-padded to a multiple of 4 bytes. */
export function encodeOneByteExtension(elements: readonly RtpExtensionElement[]): Uint8Array {
  let size = 0;
  for (const e of elements) {
    if (!Number.isInteger(e.id) || e.id < 1 || e.id > 14) throw new RangeError(`one-byte extension id ${e.id} is not 1–14`);
    if (e.data.byteLength < 1 || e.data.byteLength > 16) throw new RangeError(`one-byte extension data of ${e.data.byteLength} bytes is not 1–16`);
    size += 1 + e.data.byteLength;
  }
  const out = new Uint8Array(Math.ceil(size / 4) * 4);
  let at = 0;
  for (const e of elements) {
    out[at++] = (e.id << 4) | (e.data.byteLength - 1);
    out.set(e.data, at);
    at += e.data.byteLength;
  }
  return out;
}

/** Decodes a one-byte extension body; padding bytes (0) are skipped, id 15 stops parsing. */
export function decodeOneByteExtension(body: Uint8Array): RtpExtensionElement[] {
  const out: RtpExtensionElement[] = [];
  let at = 0;
  while (at < body.byteLength) {
    const b = body[at] as number;
    if (b === 0) {
      at++;
      continue;
    }
    const id = b >> 4;
    if (id === 15) break;
    const len = (b & 0x0f) + 1;
    if (at + 1 + len > body.byteLength) throw new RtpParseError(`extension element ${id} runs past the extension body`);
    out.push({ id, data: body.slice(at + 1, at + 1 + len) });
    at += 1 + len;
  }
  return out;
}

/** The audio-level element (RFC 6464) real clients put in the extension: id 1, V flag + level in -dBov. */
export function audioLevelElement(levelDbov: number, voiceActivity: boolean): RtpExtensionElement {
  const level = Math.max(0, Math.min(127, Math.round(levelDbov)));
  return { id: 1, data: Uint8Array.of((voiceActivity ? 0x80 : 0) | level) };
}
