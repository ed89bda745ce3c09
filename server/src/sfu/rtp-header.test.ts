import { describe, expect, it } from 'vitest';
import { parseRtp } from './rtp-header.ts';
import { buildRtp } from './testing.ts';

describe('parseRtp', () => {
  const payload = Uint8Array.of(0xfc, 1, 2, 3, 4);
  const plain = buildRtp({ ssrc: 0xdeadbeef, sequenceNumber: 65_535, timestamp: 0xffff_ff00, marker: true, payloadType: 120, payload });

  it('reads the fixed header and locates the payload of plain RTP', () => {
    const r = parseRtp(plain);
    expect(r.kind).toBe('rtp');
    if (r.kind !== 'rtp') return;
    expect(r.header).toMatchObject({ marker: true, payloadType: 120, sequenceNumber: 65_535, timestamp: 0xffff_ff00, ssrc: 0xdeadbeef, csrc: [] });
    expect(plain.subarray(r.header.payloadOffset, r.header.payloadEnd)).toEqual(Buffer.from(payload));
  });

  it('skips CSRCs and a header extension, and strips padding', () => {
    // V=2 P=1 X=1 CC=1, PT 111; one CSRC; a one-word extension; 5 payload bytes; 3 bytes of padding.
    const packet = Buffer.concat([
      Buffer.from([0xb1, 111, 0, 7, 0, 0, 0, 9, 0, 0, 0, 42]),
      Buffer.from([0, 0, 0, 5]),
      Buffer.from([0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0]),
      Buffer.from(payload),
      Buffer.from([0, 0, 3]),
    ]);
    const r = parseRtp(packet);
    expect(r.kind).toBe('rtp');
    if (r.kind !== 'rtp') return;
    expect(r.header.csrc).toEqual([5]);
    expect(r.header.ssrc).toBe(42);
    expect(packet.subarray(r.header.payloadOffset, r.header.payloadEnd)).toEqual(Buffer.from(payload));
  });

  it('classifies RTCP by its packet type (RFC 5761)', () => {
    expect(parseRtp(Uint8Array.of(0x80, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0))).toEqual({ kind: 'rtcp' });
    expect(parseRtp(Uint8Array.of(0x81, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2))).toEqual({ kind: 'rtcp' });
  });

  it.each([
    ['short', Uint8Array.of(0x80, 120, 0)],
    ['version', Uint8Array.from(plain).map((b, i) => (i === 0 ? 0x40 : b))],
    ['csrc', Uint8Array.of(0x8f, 120, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)],
    ['extension', Uint8Array.of(0x90, 120, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0, 9)],
    ['padding', Uint8Array.of(0xa0, 120, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 40)],
    ['padding', Uint8Array.of(0xa0, 120, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0)],
  ] as const)('reports a %s problem instead of throwing', (reason, bytes) => {
    expect(parseRtp(bytes)).toEqual({ kind: 'malformed', reason });
  });
});
