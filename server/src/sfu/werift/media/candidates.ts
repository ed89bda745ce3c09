/**
 * ICE candidates in the SDP the media process sends to browsers. werift has no "announced address":
 * the address a host candidate carries is the one it gathered. Behind a 1:1 NAT the offer must carry
 * the public address instead; the socket behind it is the same, and werift answers the browser's
 * checks whatever address they were sent to (the browser's side is learnt as peer-reflexive).
 */

/** True for 127.0.0.0/8 and ::1. */
export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

/**
 * Replaces the connection address of every non-loopback host candidate with `announced`, then drops
 * candidates that became duplicates (same transport, address, port and TCP type). Other lines are
 * kept byte for byte.
 */
export function announceCandidates(sdp: string, announced: string | undefined): string {
  if (announced === undefined) return sdp;
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const seenPerSection = new Set<string>();
  const out: string[] = [];
  for (const line of sdp.split(eol)) {
    if (line.startsWith('m=')) seenPerSection.clear();
    if (!line.startsWith('a=candidate:')) {
      out.push(line);
      continue;
    }
    // a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> [...]
    const fields = line.split(' ');
    const address = fields[4];
    const type = fields[7];
    if (fields.length < 8 || address === undefined || fields[6] !== 'typ') {
      out.push(line);
      continue;
    }
    if (type === 'host' && !isLoopback(address)) fields[4] = announced;
    const tcpType = fields.indexOf('tcptype');
    const key = [fields[1], fields[2]?.toLowerCase(), fields[4], fields[5], tcpType > 0 ? fields[tcpType + 1] : ''].join(' ');
    if (seenPerSection.has(key)) continue;
    seenPerSection.add(key);
    out.push(fields.join(' '));
  }
  return out.join(eol);
}
