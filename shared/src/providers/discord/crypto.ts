/**
 * Transport encryption of Discord voice RTP in the two rtpsize AEAD modes.
 *
 * Packet = clear header (AEAD additional data) ‖ AEAD(extension body ‖ Opus) ‖ 16-byte tag ‖
 * u32 BE nonce counter. The AEAD nonce is that counter followed by zeros: 12 bytes for AES-256-GCM,
 * 24 for XChaCha20-Poly1305. Node only (AES-GCM through node:crypto).
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { PrometheanError } from '../../errors.ts';
import type { EncryptionMode } from './opcodes.ts';
import { parseRtpHeader, RtpParseError } from './rtp.ts';
import type { RtpHeader } from './rtp.ts';

export const AUTH_TAG_LENGTH = 16;
export const NONCE_SUFFIX_LENGTH = 4;
export const SECRET_KEY_LENGTH = 32;

/** Decryption failed: bad tag, wrong key, truncated packet. */
export class VoiceCryptoError extends PrometheanError {
  override name = 'VoiceCryptoError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('bad_frame', message, options);
  }
}

function aeadNonce(mode: EncryptionMode, counter: number): Uint8Array {
  const nonce = new Uint8Array(mode === 'aead_aes256_gcm_rtpsize' ? 12 : 24);
  new DataView(nonce.buffer).setUint32(0, counter >>> 0, false);
  return nonce;
}

function checkKey(key: Uint8Array): void {
  if (key.byteLength !== SECRET_KEY_LENGTH) throw new RangeError(`secret key must be ${SECRET_KEY_LENGTH} bytes, got ${key.byteLength}`);
}

/**
 * Encrypts one packet. `clearHeader` is sent as is and authenticated; `plaintext` is the extension
 * body (if any) followed by the Opus frame. Returns the whole UDP payload.
 */
export function encryptRtpSize(
  mode: EncryptionMode,
  key: Uint8Array,
  clearHeader: Uint8Array,
  plaintext: Uint8Array,
  counter: number,
): Uint8Array {
  checkKey(key);
  const nonce = aeadNonce(mode, counter);
  let sealed: Uint8Array;
  if (mode === 'aead_aes256_gcm_rtpsize') {
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    cipher.setAAD(clearHeader);
    const body = cipher.update(plaintext);
    const fin = cipher.final();
    const tag = cipher.getAuthTag();
    sealed = new Uint8Array(body.byteLength + fin.byteLength + tag.byteLength);
    sealed.set(body, 0);
    sealed.set(fin, body.byteLength);
    sealed.set(tag, body.byteLength + fin.byteLength);
  } else {
    sealed = xchacha20poly1305(key, nonce, clearHeader).encrypt(plaintext);
  }
  const out = new Uint8Array(clearHeader.byteLength + sealed.byteLength + NONCE_SUFFIX_LENGTH);
  out.set(clearHeader, 0);
  out.set(sealed, clearHeader.byteLength);
  new DataView(out.buffer).setUint32(out.byteLength - NONCE_SUFFIX_LENGTH, counter >>> 0, false);
  return out;
}

export interface DecryptedRtp {
  header: RtpHeader;
  /** The nonce counter the sender used. */
  counter: number;
  /** The decrypted extension body (empty when X is clear). */
  extensionBody: Uint8Array;
  /** The payload (Opus, or a DAVE frame) with extension body and RTP padding removed. */
  payload: Uint8Array;
}

/** Decrypts one packet; throws RtpParseError or {@link VoiceCryptoError}. For many packets under one key use {@link RtpSizeDecryptor}. */
export function decryptRtpSize(mode: EncryptionMode, key: Uint8Array, packet: Uint8Array): DecryptedRtp {
  checkKey(key);
  const header = parseRtpHeader(packet);
  const d = new RtpSizeDecryptor(mode, key).decrypt(packet);
  return { header, counter: d.counter, extensionBody: d.extensionBody, payload: d.payload };
}

/** What {@link RtpSizeDecryptor.decrypt} returns: one object, overwritten by the next call. */
export interface RtpSizeView {
  sequence: number;
  timestamp: number;
  ssrc: number;
  /** The nonce counter the sender used. */
  counter: number;
  /** The decrypted extension body (empty when X is clear); a view on `payload`'s memory. */
  extensionBody: Uint8Array;
  /** The payload (Opus, or a DAVE frame) with extension body and RTP padding removed; fresh memory per packet. */
  payload: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/**
 * Decrypts many packets under one session key. node:crypto cannot re-key or re-IV a decipher, so each
 * packet still gets its own; what is kept is everything around it: the key as a KeyObject (a raw key
 * costs node:crypto a slow type probe on every call), the nonce buffer, and the result object.
 */
export class RtpSizeDecryptor {
  readonly mode: EncryptionMode;
  readonly #aesKey: KeyObject | undefined;
  readonly #rawKey: Uint8Array;
  readonly #nonce: Buffer;
  readonly #view: RtpSizeView = { sequence: 0, timestamp: 0, ssrc: 0, counter: 0, extensionBody: EMPTY, payload: EMPTY };

  constructor(mode: EncryptionMode, key: Uint8Array) {
    checkKey(key);
    this.mode = mode;
    this.#rawKey = new Uint8Array(key);
    this.#aesKey = mode === 'aead_aes256_gcm_rtpsize' ? createSecretKey(this.#rawKey) : undefined;
    this.#nonce = Buffer.alloc(mode === 'aead_aes256_gcm_rtpsize' ? 12 : 24);
  }

  /**
   * Decrypts one packet; throws RtpParseError or {@link VoiceCryptoError}. The returned object is
   * reused by the next call (read its fields before decrypting again); `payload` is not.
   */
  decrypt(packet: Uint8Array): RtpSizeView {
    const length = packet.byteLength;
    if (length < 12) throw new RtpParseError(`RTP packet of ${length} bytes is shorter than 12`);
    const b0 = packet[0]!;
    if (b0 >> 6 !== 2) throw new RtpParseError(`RTP version ${b0 >> 6} is not 2`);
    const extension = (b0 & 0x10) !== 0;
    let clearLength = 12 + 4 * (b0 & 0x0f);
    if (length < clearLength + (extension ? 4 : 0)) throw new RtpParseError(`RTP packet of ${length} bytes is shorter than its header`);
    let extLength = 0;
    if (extension) {
      extLength = ((packet[clearLength + 2]! << 8) | packet[clearLength + 3]!) * 4;
      clearLength += 4;
    }
    const sequence = (packet[2]! << 8) | packet[3]!;
    const timestamp = ((packet[4]! << 24) | (packet[5]! << 16) | (packet[6]! << 8) | packet[7]!) >>> 0;
    const ssrc = ((packet[8]! << 24) | (packet[9]! << 16) | (packet[10]! << 8) | packet[11]!) >>> 0;
    const minimum = clearLength + AUTH_TAG_LENGTH + NONCE_SUFFIX_LENGTH;
    if (length < minimum) throw new VoiceCryptoError(`encrypted RTP of ${length} bytes is shorter than ${minimum}`);
    const c = length - NONCE_SUFFIX_LENGTH;
    const counter = ((packet[c]! << 24) | (packet[c + 1]! << 16) | (packet[c + 2]! << 8) | packet[c + 3]!) >>> 0;
    const nonce = this.#nonce;
    nonce[0] = packet[c]!;
    nonce[1] = packet[c + 1]!;
    nonce[2] = packet[c + 2]!;
    nonce[3] = packet[c + 3]!;
    const aad = packet.subarray(0, clearLength);
    let plain: Uint8Array;
    try {
      if (this.#aesKey) {
        const tagAt = c - AUTH_TAG_LENGTH;
        const decipher = createDecipheriv('aes-256-gcm', this.#aesKey, nonce);
        decipher.setAAD(aad);
        decipher.setAuthTag(packet.subarray(tagAt, c));
        const a = decipher.update(packet.subarray(clearLength, tagAt));
        const b = decipher.final(); // GCM: always empty; it checks the tag
        // a plain Uint8Array view (Buffer#slice would share memory where callers expect a copy)
        plain = b.byteLength === 0 ? new Uint8Array(a.buffer, a.byteOffset, a.byteLength) : new Uint8Array(Buffer.concat([a, b]));
      } else {
        plain = xchacha20poly1305(this.#rawKey, nonce, aad).decrypt(packet.subarray(clearLength, c));
      }
    } catch (cause) {
      throw new VoiceCryptoError(`RTP from ssrc ${ssrc} seq ${sequence} failed authentication`, { cause });
    }
    if (extLength > plain.byteLength) throw new VoiceCryptoError(`extension body of ${extLength} bytes exceeds the decrypted payload`);
    let end = plain.byteLength;
    if ((b0 & 0x20) !== 0 && end > extLength) {
      const pad = plain[end - 1]!;
      if (pad > 0 && pad <= end - extLength) end -= pad;
    }
    const v = this.#view;
    v.sequence = sequence;
    v.timestamp = timestamp;
    v.ssrc = ssrc;
    v.counter = counter;
    v.extensionBody = extLength === 0 ? EMPTY : plain.subarray(0, extLength);
    v.payload = plain.subarray(extLength, end);
    return v;
  }
}

/** The sender's nonce counter: starts at 1 and wraps to 0 after 2³²−1, as @discordjs/voice does. */
export class NonceCounter {
  #value: number;
  constructor(start = 0) {
    this.#value = start >>> 0;
  }
  /** Advances and returns the counter value to use for the next packet. */
  next(): number {
    this.#value = this.#value >= 0xffffffff ? 0 : this.#value + 1;
    return this.#value;
  }
  get value(): number {
    return this.#value;
  }
}
