/**
 * Transport encryption of Discord voice RTP in the two rtpsize AEAD modes.
 *
 * Packet = clear header (AEAD additional data) ‖ AEAD(extension body ‖ Opus) ‖ 16-byte tag ‖
 * u32 BE nonce counter. The AEAD nonce is that counter followed by zeros: 12 bytes for AES-256-GCM,
 * 24 for XChaCha20-Poly1305. Node only (AES-GCM through node:crypto).
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { PrometheanError } from '../../errors.ts';
import type { EncryptionMode } from './opcodes.ts';
import { parseRtpHeader } from './rtp.ts';
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

/** Decrypts one packet; throws RtpParseError or {@link VoiceCryptoError}. */
export function decryptRtpSize(mode: EncryptionMode, key: Uint8Array, packet: Uint8Array): DecryptedRtp {
  checkKey(key);
  const header = parseRtpHeader(packet);
  const minimum = header.clearLength + AUTH_TAG_LENGTH + NONCE_SUFFIX_LENGTH;
  if (packet.byteLength < minimum) {
    throw new VoiceCryptoError(`encrypted RTP of ${packet.byteLength} bytes is shorter than ${minimum}`);
  }
  const counter = new DataView(packet.buffer, packet.byteOffset, packet.byteLength).getUint32(
    packet.byteLength - NONCE_SUFFIX_LENGTH,
    false,
  );
  const aad = packet.subarray(0, header.clearLength);
  const sealed = packet.subarray(header.clearLength, packet.byteLength - NONCE_SUFFIX_LENGTH);
  const nonce = aeadNonce(mode, counter);
  let plain: Uint8Array;
  try {
    if (mode === 'aead_aes256_gcm_rtpsize') {
      const decipher = createDecipheriv('aes-256-gcm', key, nonce);
      decipher.setAAD(aad);
      decipher.setAuthTag(sealed.subarray(sealed.byteLength - AUTH_TAG_LENGTH));
      const a = decipher.update(sealed.subarray(0, sealed.byteLength - AUTH_TAG_LENGTH));
      const b = decipher.final();
      plain = b.byteLength === 0 ? new Uint8Array(a) : new Uint8Array(Buffer.concat([a, b]));
    } else {
      plain = xchacha20poly1305(key, nonce, aad).decrypt(sealed);
    }
  } catch (cause) {
    throw new VoiceCryptoError(`RTP from ssrc ${header.ssrc} seq ${header.sequence} failed authentication`, { cause });
  }
  const extLength = header.extensionWords * 4;
  if (extLength > plain.byteLength) throw new VoiceCryptoError(`extension body of ${extLength} bytes exceeds the decrypted payload`);
  let end = plain.byteLength;
  if (header.padding && end > extLength) {
    const pad = plain[end - 1] as number;
    if (pad > 0 && pad <= end - extLength) end -= pad;
  }
  return { header, counter, extensionBody: plain.subarray(0, extLength), payload: plain.subarray(extLength, end) };
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
