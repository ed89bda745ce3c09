import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { VoiceReceiver, type VoiceConnection } from '@discordjs/voice';
import { audioLevelElement, buildRtpHeader, encryptRtpSize, type EncryptionMode } from '@promethean/shared/providers/discord';
import { DatagramHandler } from './datagram-handler.ts';
import { ReceiveSession, type DecryptedPacket } from '../receive/receive-session.ts';

const KEY = new Uint8Array(randomBytes(32));
const MS = 1_000_000n;
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

type Relayed = DecryptedPacket & { userId: string; arrivalNs: bigint };

function setup() {
  const got: Relayed[] = [];
  const users = new Map([[42, 'u42']]);
  const session = new ReceiveSession((s) => users.get(s), () => {}, { pcm: false });
  session.addRelay({ relay: (p) => got.push({ ssrc: p.ssrc, userId: p.userId, seq: p.seq, timestamp: p.timestamp, arrivalNs: p.arrivalNs, opus: p.opus.slice() }) });
  const handler = new DatagramHandler(session, (s) => users.get(s));
  return { got, session, handler, users };
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

  it('counts malformed datagrams, bad tags and unmapped ssrcs (once aged out of the hold), and keeps delivering good packets', () => {
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
    expect(handler.hold.size).toBe(1); // ssrc 99 waits for an op 5 that never comes
    handler.expireHeld(201n * MS);
    expect(handler.counters.unmapped).toBe(1);
    expect(session.counters.unmapped).toBe(1);
    expect(handler.counters.ignored).toBe(1);
    expect(handler.counters.malformed).toBe(3);
    expect(session.counters.decryptErrors).toBe(2);
  });

  it('holds packets that arrive before their ssrc’s op 5 and delivers them in arrival order, with their arrival times, before later ones', () => {
    const { got, handler, users } = setup();
    handler.setKeys({ mode: 'aead_aes256_gcm_rtpsize', key: KEY });
    for (const seq of [10, 12, 11]) handler.handle(packet('aead_aes256_gcm_rtpsize', seq, 7, true), BigInt(seq * 20) * MS);
    handler.handle(packet('aead_aes256_gcm_rtpsize', 1, 42, false), 245n * MS); // a mapped speaker is not held up
    expect(got.map((p) => `${p.ssrc}:${p.seq}`)).toEqual(['42:1']);
    expect(handler.releaseMapped(250n * MS)).toBe(0); // ssrc 7 still has no user
    users.set(7, 'u7');
    expect(handler.releaseMapped(250n * MS)).toBe(3);
    handler.handle(packet('aead_aes256_gcm_rtpsize', 13, 7, true), 260n * MS);
    const seven = got.filter((p) => p.ssrc === 7);
    expect(seven.map((p) => p.seq)).toEqual([10, 12, 11, 13]);
    expect(seven.map((p) => Number(p.arrivalNs / MS))).toEqual([200, 240, 220, 260]);
    expect(seven.every((p) => p.userId === 'u7' && Array.from(p.opus).join() === Array.from(OPUS).join())).toBe(true);
    expect(handler.counters).toMatchObject({ held: 3, unmapped: 0 });
  });

  it('delivers held packets first when a packet of a newly mapped ssrc arrives before the map-change hand-back', () => {
    const { got, handler, users } = setup();
    handler.setKeys({ mode: 'aead_aes256_gcm_rtpsize', key: KEY });
    handler.handle(packet('aead_aes256_gcm_rtpsize', 1, 7, false), 0n);
    users.set(7, 'u7');
    handler.handle(packet('aead_aes256_gcm_rtpsize', 2, 7, false), 20n * MS);
    expect(got.map((p) => p.seq)).toEqual([1, 2]);
  });

  it('drops and counts what waited longer than 200 ms: the first packet delivered follows exactly the ones counted', () => {
    const { got, handler, users } = setup();
    handler.setKeys({ mode: 'aead_aes256_gcm_rtpsize', key: KEY });
    // op 5 comes 400 ms after the first of 20 packets (one every 20 ms)
    for (let k = 0; k < 20; k++) handler.handle(packet('aead_aes256_gcm_rtpsize', 1000 + k, 7, false), BigInt(k * 20) * MS);
    users.set(7, 'u7');
    handler.releaseMapped(400n * MS);
    const seqs = got.map((p) => p.seq);
    expect(seqs[0]! - 1000).toBe(handler.counters.unmapped);
    expect(handler.counters.unmapped).toBe(10); // arrived before 200 ms (or pushed out by the 10-packet bound)
    expect(seqs).toEqual(Array.from({ length: 10 }, (_, k) => 1010 + k));
    expect(handler.counters.held).toBe(10);
  });

  it('applies DAVE to held packets only on release, as the user op 5 names', () => {
    const { got, handler, users } = setup();
    handler.setKeys({ mode: 'aead_aes256_gcm_rtpsize', key: KEY });
    const calls: string[] = [];
    handler.setE2ee((userId, frame) => {
      calls.push(userId);
      return frame.subarray(2);
    });
    handler.handle(packet('aead_aes256_gcm_rtpsize', 1, 7, false), 0n);
    handler.handle(packet('aead_aes256_gcm_rtpsize', 2, 7, false), 20n * MS);
    expect(calls).toEqual([]);
    users.set(7, 'u7');
    handler.releaseMapped(30n * MS);
    expect(calls).toEqual(['u7', 'u7']);
    expect(got.map((p) => p.opus.byteLength)).toEqual([OPUS.byteLength - 2, OPUS.byteLength - 2]);
  });

  it('never holds a packet that fails transport decryption (a decrypt error, not unmapped)', () => {
    const { handler } = setup();
    handler.setKeys({ mode: 'aead_aes256_gcm_rtpsize', key: KEY });
    const bad = packet('aead_aes256_gcm_rtpsize', 1, 7, false);
    bad[bad.length - 6]! ^= 0xff;
    handler.handle(bad, 0n);
    expect(handler.hold.size).toBe(0);
    expect(handler.counters.decryptErrors).toBe(1);
    handler.clearHeld();
    handler.handle(packet('aead_aes256_gcm_rtpsize', 2, 7, false), 0n);
    handler.clearHeld();
    expect(handler.counters.unmapped).toBe(1);
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
