/**
 * The plain RTP the SFU ingests (RFC 3550): the fixed header, CSRCs, an optional header extension and
 * padding. Pure, no allocation beyond the result; a datagram that does not parse is classified, never
 * thrown on.
 */

export interface RtpHeaderView {
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  csrc: number[];
  /** Byte offset of the payload (after CSRCs and the header extension). */
  payloadOffset: number;
  /** Byte offset where the payload ends (before padding). */
  payloadEnd: number;
}

export type RtpParseResult =
  | { kind: 'rtp'; header: RtpHeaderView }
  | { kind: 'rtcp' }
  | { kind: 'malformed'; reason: 'short' | 'version' | 'csrc' | 'extension' | 'padding' };

/** Classifies one datagram as RTP (with its header), RTCP (RFC 5761 demultiplexing) or malformed. */
export function parseRtp(data: Uint8Array): RtpParseResult {
  if (data.length < 12) return { kind: 'malformed', reason: 'short' };
  const b0 = data[0]!;
  const b1 = data[1]!;
  if (b0 >> 6 !== 2) return { kind: 'malformed', reason: 'version' };
  // RTCP packet types 192–223 (SR 200, RR 201, SDES 202, BYE 203, APP 204, feedback 205/206): seen as RTP,
  // the marker bit is set and the payload type is 64–95 (RFC 5761 section 4).
  if (b1 >= 192 && b1 <= 223) return { kind: 'rtcp' };
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const csrcCount = b0 & 0x0f;
  let offset = 12 + csrcCount * 4;
  if (offset > data.length) return { kind: 'malformed', reason: 'csrc' };
  const csrc: number[] = [];
  for (let i = 0; i < csrcCount; i++) csrc.push(view.getUint32(12 + i * 4));
  if (b0 & 0x10) {
    if (offset + 4 > data.length) return { kind: 'malformed', reason: 'extension' };
    const words = view.getUint16(offset + 2);
    offset += 4 + words * 4;
    if (offset > data.length) return { kind: 'malformed', reason: 'extension' };
  }
  let end = data.length;
  if (b0 & 0x20) {
    const padding = data[data.length - 1]!;
    if (padding === 0 || end - padding < offset) return { kind: 'malformed', reason: 'padding' };
    end -= padding;
  }
  return {
    kind: 'rtp',
    header: {
      marker: (b1 & 0x80) !== 0,
      payloadType: b1 & 0x7f,
      sequenceNumber: view.getUint16(2),
      timestamp: view.getUint32(4),
      ssrc: view.getUint32(8),
      csrc,
      payloadOffset: offset,
      payloadEnd: end,
    },
  };
}
