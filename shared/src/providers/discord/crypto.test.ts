import { randomBytes } from 'node:crypto';
import { Networking, VoiceReceiver } from '@discordjs/voice';
import { describe, expect, it } from 'vitest';
import { decryptRtpSize, encryptRtpSize, NonceCounter, VoiceCryptoError } from './crypto.ts';
import { ENCRYPTION_MODES } from './opcodes.ts';
import type { EncryptionMode } from './opcodes.ts';
import { audioLevelElement, buildRtpHeader, RtpParseError } from './rtp.ts';

/** @discordjs/voice's own packet builder (the client's send path), called on a minimal `this`. */
function clientEncrypt(mode: EncryptionMode, key: Uint8Array, opus: Buffer, seq: number, ts: number, ssrc: number, nonce: number): Buffer {
  const connectionData = {
    encryptionMode: mode,
    secretKey: key,
    sequence: seq,
    timestamp: ts,
    ssrc,
    nonce: nonce - 1,
    nonceBuffer: Buffer.alloc(mode === 'aead_aes256_gcm_rtpsize' ? 12 : 24),
  };
  const self = { encryptOpusPacket: (Networking.prototype as unknown as Record<string, Function>).encryptOpusPacket };
  return (Networking.prototype as unknown as { createAudioPacket: Function }).createAudioPacket.call(self, opus, connectionData, undefined) as Buffer;
}

/** @discordjs/voice's own receive-side decrypt (VoiceReceiver.decrypt), then its extension stripping. */
function clientDecrypt(mode: EncryptionMode, key: Uint8Array, packet: Uint8Array): Buffer {
  const buf = Buffer.from(packet);
  const nonce = Buffer.alloc(mode === 'aead_aes256_gcm_rtpsize' ? 12 : 24);
  let out = (VoiceReceiver.prototype as unknown as { decrypt: Function }).decrypt.call({}, buf, mode, nonce, key) as Buffer;
  if (buf[12] === 0xbe && buf[13] === 0xde) out = out.subarray(4 * buf.readUInt16BE(14));
  return out;
}

describe.each(ENCRYPTION_MODES)('rtpsize transport crypto (%s)', (mode) => {
  const key = new Uint8Array(randomBytes(32));
  const opus = Buffer.from(randomBytes(61));

  it('decryptRtpSize() opens a packet built by @discordjs/voice', () => {
    const packet = clientEncrypt(mode, key, opus, 1234, 99_000, 0xdeadbeef, 7);
    const got = decryptRtpSize(mode, key, packet);
    expect(got.header.sequence).toBe(1234);
    expect(got.header.timestamp).toBe(99_000);
    expect(got.header.ssrc).toBe(0xdeadbeef);
    expect(got.header.payloadType).toBe(120);
    expect(got.counter).toBe(7);
    expect(Buffer.from(got.payload).equals(opus)).toBe(true);
  });

  it('encryptRtpSize() with a BE DE extension is opened by the @discordjs/voice receiver', () => {
    const { clear, extensionBody } = buildRtpHeader({ sequence: 65535, timestamp: 0xffffff00, ssrc: 42, extension: [audioLevelElement(30, true)] });
    expect([...clear.subarray(12, 14)]).toEqual([0xbe, 0xde]);
    const plain = new Uint8Array(extensionBody.byteLength + opus.byteLength);
    plain.set(extensionBody);
    plain.set(opus, extensionBody.byteLength);
    const packet = encryptRtpSize(mode, key, clear, plain, 0xffffffff);
    expect(clientDecrypt(mode, key, packet).equals(opus)).toBe(true);
    const ours = decryptRtpSize(mode, key, packet);
    expect(ours.counter).toBe(0xffffffff);
    expect([...ours.extensionBody]).toEqual([0x10, 0x80 | 30, 0, 0]);
  });

  it('decryptRtpSize() throws VoiceCryptoError when a ciphertext byte is flipped', () => {
    const packet = clientEncrypt(mode, key, opus, 1, 2, 3, 1);
    packet[20] = (packet[20] as number) ^ 1;
    expect(() => decryptRtpSize(mode, key, packet)).toThrow(VoiceCryptoError);
  });

  it('decryptRtpSize() throws typed errors on truncated input', () => {
    expect(() => decryptRtpSize(mode, key, new Uint8Array(8))).toThrow(RtpParseError);
    const { clear } = buildRtpHeader({ sequence: 1, timestamp: 1, ssrc: 1 });
    expect(() => decryptRtpSize(mode, key, clear)).toThrow(VoiceCryptoError);
  });
});

describe('NonceCounter', () => {
  it('next() starts at 1 and wraps to 0 after 2^32-1', () => {
    const fresh = new NonceCounter();
    expect(fresh.next()).toBe(1);
    const high = new NonceCounter(0xfffffffe);
    expect(high.next()).toBe(0xffffffff);
    expect(high.next()).toBe(0);
  });
});
