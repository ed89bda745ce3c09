import { describe, expect, it } from 'vitest';
import { buildIpDiscoveryRequest, buildIpDiscoveryResponse, DiscoveryParseError, parseIpDiscovery } from './discovery.ts';
import { decodeOneByteExtension, encodeOneByteExtension, parseRtpHeader, RtpParseError } from './rtp.ts';

describe('IP discovery', () => {
  it('buildIpDiscoveryRequest() matches the 74-byte layout @discordjs/voice sends', () => {
    // Built the way VoiceUDPSocket.performIPDiscovery does: alloc(74), u16 1, u16 70, u32 ssrc.
    const reference = Buffer.alloc(74);
    reference.writeUInt16BE(1, 0);
    reference.writeUInt16BE(70, 2);
    reference.writeUInt32BE(0x01020304, 4);
    expect(Buffer.from(buildIpDiscoveryRequest(0x01020304)).equals(reference)).toBe(true);
  });

  it('a response carries the address at offset 8 and the port in the last two bytes', () => {
    const packet = Buffer.from(buildIpDiscoveryResponse(5, '127.0.0.1', 50_123));
    // The client's parser: address up to the first NUL after offset 8, port = last u16 BE.
    expect(packet.subarray(8, packet.indexOf(0, 8)).toString('utf8')).toBe('127.0.0.1');
    expect(packet.readUInt16BE(packet.length - 2)).toBe(50_123);
    expect(parseIpDiscovery(packet)).toEqual({ type: 2, ssrc: 5, address: '127.0.0.1', port: 50_123 });
  });

  it('parseIpDiscovery() rejects other datagrams with DiscoveryParseError', () => {
    expect(() => parseIpDiscovery(new Uint8Array(8))).toThrow(DiscoveryParseError);
  });
});

describe('RTP header', () => {
  it('parseRtpHeader() reads a captured-style header with CSRCs and a BE DE extension', () => {
    const p = Buffer.from('92f8000a0000012c0000002a000000070000000bbede0001', 'hex');
    const h = parseRtpHeader(p);
    expect(h).toMatchObject({ version: 2, extension: true, marker: true, payloadType: 120, sequence: 10, timestamp: 300, ssrc: 42, csrcs: [7, 11], clearLength: 24, extensionProfile: 0xbede, extensionWords: 1 });
  });

  it('parseRtpHeader() rejects non-v2 and short packets', () => {
    expect(() => parseRtpHeader(new Uint8Array(11))).toThrow(RtpParseError);
    expect(() => parseRtpHeader(new Uint8Array(12))).toThrow(/version 0/);
    expect(() => parseRtpHeader(Uint8Array.of(0x90, 120, ...new Array(10).fill(0)))).toThrow(RtpParseError);
  });

  it('one-byte extension elements round-trip and pad to 32 bits', () => {
    const body = encodeOneByteExtension([{ id: 1, data: Uint8Array.of(0x9e) }, { id: 3, data: Uint8Array.of(1, 2, 3) }]);
    expect(body.byteLength).toBe(8);
    expect(decodeOneByteExtension(body)).toEqual([{ id: 1, data: Uint8Array.of(0x9e) }, { id: 3, data: Uint8Array.of(1, 2, 3) }]);
    expect(() => encodeOneByteExtension([{ id: 15, data: Uint8Array.of(0) }])).toThrow(RangeError);
  });
});
