/** The ingest's shared routing table and its datagram classifier, without threads or sockets. */
import { describe, expect, it } from 'vitest';
import { parseRtp } from '../rtp-header.ts';
import { buildRtp } from '../testing.ts';
import { classifyDatagram, MALFORMED, RTCP } from './datagram.ts';
import { createIngestMemory, IngestTable, lookupRoute, MAX_PRODUCERS } from './ingest-table.ts';

describe('IngestTable', () => {
  it('routes an ssrc to its router slot and payload types until it is removed', () => {
    const table = new IngestTable(createIngestMemory());
    const out = new Int32Array(3);
    const slot = table.add(0xdead_beef, { routerSlot: 7, expectedPt: 120, outPt: 111 });
    table.add(42, { routerSlot: 3, expectedPt: undefined, outPt: 111 });
    expect(lookupRoute(table.memory, 0xdead_beef, out)).toBe(slot);
    expect([...out]).toEqual([7, 120, 111]);
    expect(lookupRoute(table.memory, 42, out)).toBeGreaterThanOrEqual(0);
    expect([...out]).toEqual([3, -1, 111]);
    expect(lookupRoute(table.memory, 43, out)).toBe(-1);
    table.remove(0xdead_beef);
    table.remove(0xdead_beef);
    expect(lookupRoute(table.memory, 0xdead_beef, out)).toBe(-1);
    expect(lookupRoute(table.memory, 42, out)).toBeGreaterThanOrEqual(0);
    expect(table.size).toBe(1);
  });

  it('add() refuses an ssrc routed already and more than MAX_PRODUCERS routes', () => {
    const table = new IngestTable(createIngestMemory());
    for (let i = 0; i < MAX_PRODUCERS; i++) table.add(i * 7919, { routerSlot: 0, expectedPt: undefined, outPt: 111 });
    expect(() => table.add(0, { routerSlot: 0, expectedPt: undefined, outPt: 111 })).toThrow(/routed already/);
    expect(() => table.add(1, { routerSlot: 0, expectedPt: undefined, outPt: 111 })).toThrow(RangeError);
    const out = new Int32Array(3);
    for (let i = 0; i < MAX_PRODUCERS; i += 97) expect(lookupRoute(table.memory, i * 7919, out)).toBeGreaterThanOrEqual(0);
    table.remove(0);
    table.add(1, { routerSlot: 2, expectedPt: undefined, outPt: 111 });
    expect(lookupRoute(table.memory, 1, out)).toBeGreaterThanOrEqual(0);
    expect(out[0]).toBe(2);
  });

  it('a re-added ssrc starts its counters at zero', () => {
    const table = new IngestTable(createIngestMemory());
    const slot = table.add(5, { routerSlot: 0, expectedPt: undefined, outPt: 111 });
    Atomics.add(table.memory.packets, slot, 3);
    table.memory.bytes[slot] = 300;
    table.memory.lastAt[slot] = 1234;
    expect(table.counters(5)).toEqual({ packets: 3, bytes: 300, lastPacketAt: 1234 });
    table.remove(5);
    expect(table.counters(5)).toBeUndefined();
    table.add(5, { routerSlot: 0, expectedPt: undefined, outPt: 111 });
    expect(table.counters(5)).toEqual({ packets: 0, bytes: 0, lastPacketAt: null });
  });
});

describe('classifyDatagram()', () => {
  const rtp = (payloadType: number, payload = new Uint8Array(20)): Uint8Array =>
    buildRtp({ ssrc: 1, sequenceNumber: 1, timestamp: 1, marker: false, payloadType, payload });

  it('agrees with parseRtp on RTP, RTCP and malformed datagrams', () => {
    const withExtension = Uint8Array.from([0x90, 111, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 1, 2, 3, 4, 9]);
    const badExtension = Uint8Array.from([0x90, 111, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0, 9]);
    const padded = Uint8Array.from([0xa0, 111, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 7, 7, 0, 3]);
    const badPadding = Uint8Array.from([0xa0, 111, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 7, 0, 0, 9]);
    const cases: Array<[Uint8Array, number]> = [
      [rtp(120), 120],
      [rtp(0), 0],
      [withExtension, 111],
      [padded, 111],
      [Uint8Array.of(1, 2, 3), MALFORMED],
      [new Uint8Array(40).fill(0x40), MALFORMED],
      [Uint8Array.of(0x8f, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), MALFORMED],
      [badExtension, MALFORMED],
      [badPadding, MALFORMED],
      [Uint8Array.of(0x80, 0xc8, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0), RTCP],
    ];
    for (const [datagram, expected] of cases) {
      expect(classifyDatagram(datagram)).toBe(expected);
      const parsed = parseRtp(datagram);
      expect(parsed.kind).toBe(expected === MALFORMED ? 'malformed' : expected === RTCP ? 'rtcp' : 'rtp');
    }
  });
});
