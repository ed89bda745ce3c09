/**
 * What the ingest makes of one datagram, read in place without allocating: the payload type of
 * well-formed RTP, or why it is dropped. The same rules as `parseRtp` (`../rtp-header.ts`), which
 * builds a header object per call; this runs once per packet on the ingest thread.
 */

export const MALFORMED = -1;
export const RTCP = -2;

/** The payload type (0–127) of a well-formed RTP datagram, else `MALFORMED` or `RTCP` (RFC 5761). */
export function classifyDatagram(b: Uint8Array): number {
  const length = b.length;
  if (length < 12) return MALFORMED;
  const b0 = b[0]!;
  if (b0 >> 6 !== 2) return MALFORMED;
  const b1 = b[1]!;
  if (b1 >= 192 && b1 <= 223) return RTCP;
  let offset = 12 + (b0 & 0x0f) * 4;
  if (offset > length) return MALFORMED;
  if (b0 & 0x10) {
    if (offset + 4 > length) return MALFORMED;
    offset += 4 + ((b[offset + 2]! << 8) | b[offset + 3]!) * 4;
    if (offset > length) return MALFORMED;
  }
  if (b0 & 0x20) {
    const padding = b[length - 1]!;
    if (padding === 0 || length - padding < offset) return MALFORMED;
  }
  return b1 & 0x7f;
}
