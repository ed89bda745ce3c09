import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { VoiceReceiver, type VoiceConnection } from '@discordjs/voice';
import { audioLevelElement, buildRtpHeader, encryptRtpSize, type EncryptionMode } from '@promethean/shared/providers/discord';
import { DatagramHandler } from './datagram-handler.ts';
import { ReceiveSession, type DecryptedPacket } from '../receive/receive-session.ts';

const KEY = new Uint8Array(randomBytes(32));
const OPUS = Uint8Array.of(0xfc, 0xff, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8, 9);

function packet(mode: EncryptionMode, seq: number, ssrc: number, withExtension: boolean, counter = seq + 1): Uint8Array {
  const { clear, extensionBody } = buildRtpHeader({
    sequence: seq,
    timestamp: seq * 960,
    ssrc,
    ...(withExtension ? { extension: [audioLevelElement(30, true)] } : {}),
  });
  const plain = new Uint8Array(extensionBody.byteLength + OPUS.byteLength);
  plain.set(extensionBody, 0);
  plain.set(OPUS, extensionBody.byteLength);
  return encryptRtpSize(mode, KEY, clear, plain, counter);
}

function setup() {
  const got: DecryptedPacket[] = [];
  const users = new Map([[42, 'u42']]);
  const session = new ReceiveSession((s) => users.get(s), () => {}, { pcm: false });
  session.addRelay({ relay: (p) => got.push({ ssrc: p.ssrc, seq: p.seq, timestamp: p.timestamp, opus: p.opus.slice() }) });
  const handler = new DatagramHandler(session, (s) => users.get(s));
  return { got, session, handler };
}

describe('DatagramHandler', () => {
  for (const mode of ['aead_aes256_gcm_rtpsize', 'aead_xchacha20_poly1305_rtpsize'] as const) {
    it(`decrypts ${mode} packets (with and without the BE DE extension) to the same Opus as @discordjs/voice's receiver`, () => {
      const { got, handler } = setup();
      handler.setKeys({ mode, key: KEY });
      const fakeConnection = { state: { status: 'destroyed' } } as unknown as VoiceConnection;
      const lib = new VoiceReceiver(fakeConnection) as unknown as { parsePacket(b: Buffer, m: string, n: Buffer, k: Uint8Array, u: string): Buffer };
      for (const [seq, ext] of [[1, false], [2, true]] as const) {
        const p = packet(mode, seq, 42, ext);
        handler.handle(p, 0n);
        const nonce = Buffer.alloc(mode === 'aead_aes256_gcm_rtpsize' ? 12 : 24);
        const ref = lib.parsePacket(Buffer.from(p), mode, nonce, KEY, 'u42');
        expect(Array.from(got.at(-1)!.opus)).toEqual(Array.from(ref));
        expect(got.at(-1)!.seq).toBe(seq);
      }
      expect(Array.from(got[1]!.opus)).toEqual(Array.from(OPUS));
    });
  }

  it('counts malformed datagrams, bad tags and unmapped ssrcs, and keeps delivering good packets', () => {
    const { got, handler, session } = setup();
    handler.setKeys({ mode: 'aead_aes256_gcm_rtpsize', key: KEY });
    const bad = packet('aead_aes256_gcm_rtpsize', 5, 42, false);
    bad[bad.length - 6]! ^= 0xff; // flip a tag byte
    const truncated = packet('aead_aes256_gcm_rtpsize', 6, 42, false).subarray(0, 20);
    const inputs: Uint8Array[] = [
      new Uint8Array(0),
      Uint8Array.of(1, 2, 3),
      new Uint8Array(40).fill(0xff),
      bad,
      truncated,
      packet('aead_aes256_gcm_rtpsize', 7, 99, false),
      new Uint8Array(8),
      packet('aead_aes256_gcm_rtpsize', 8, 42, false),
    ];
    for (const d of inputs) expect(() => handler.handle(d, 0n)).not.toThrow();
    expect(got.map((p) => p.seq)).toEqual([8]);
    expect(handler.counters.decryptErrors).toBe(2);
    expect(handler.counters.unmapped).toBe(1);
    expect(handler.counters.ignored).toBe(1);
    expect(handler.counters.malformed).toBe(3);
    expect(session.counters.decryptErrors).toBe(2);
  });

  it('drops audio until keys arrive and counts it', () => {
    const { got, handler } = setup();
    handler.handle(packet('aead_aes256_gcm_rtpsize', 1, 42, false), 0n);
    expect(handler.counters.noKeys).toBe(1);
    handler.setKeys({ mode: 'aead_aes256_gcm_rtpsize', key: KEY });
    handler.handle(packet('aead_aes256_gcm_rtpsize', 2, 42, false), 0n);
    expect(got.length).toBe(1);
  });

  it('counts an E2EE failure (throw or null) without ending the stream', () => {
    const { got, handler } = setup();
    handler.setKeys({ mode: 'aead_aes256_gcm_rtpsize', key: KEY });
    let calls = 0;
    handler.setE2ee((_u, frame) => {
      calls++;
      if (calls === 1) throw new Error('no key for epoch');
      if (calls === 2) return null;
      return frame.subarray(1);
    });
    for (let s = 1; s <= 3; s++) handler.handle(packet('aead_aes256_gcm_rtpsize', s, 42, false), 0n);
    expect(handler.counters.e2eeErrors).toBe(2);
    expect(got.map((p) => p.seq)).toEqual([3]);
    expect(got[0]!.opus.byteLength).toBe(OPUS.byteLength - 1);
  });

  it('rejects an unknown encryption mode with a RangeError', () => {
    const { handler } = setup();
    expect(() => handler.setKeys({ mode: 'xsalsa20_poly1305', key: KEY })).toThrow(RangeError);
  });
});
