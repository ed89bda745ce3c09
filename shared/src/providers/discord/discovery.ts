/**
 * UDP IP discovery and keep-alive packets. Browser-safe.
 *
 * Request: 74 bytes — u16 type 1, u16 length 70, u32 ssrc, 66 zero bytes.
 * Response: type 2, length 70, ssrc, NUL-terminated IPv4 ASCII from offset 8, u16 port at offset 72.
 * Keep-alive (client → server): 8 bytes, u32 LE counter then 4 zero bytes.
 */
import { PrometheanError } from '../../errors.ts';

export const IP_DISCOVERY_LENGTH = 74;
export const IP_DISCOVERY_REQUEST = 1;
export const IP_DISCOVERY_RESPONSE = 2;
export const KEEP_ALIVE_LENGTH = 8;

export class DiscoveryParseError extends PrometheanError {
  override name = 'DiscoveryParseError';
  constructor(message: string) {
    super('bad_frame', message);
  }
}

export interface IpDiscovery {
  type: number;
  ssrc: number;
  /** Present in responses. */
  address: string;
  port: number;
}

function build(type: number, ssrc: number, address: string, port: number): Uint8Array {
  const out = new Uint8Array(IP_DISCOVERY_LENGTH);
  const view = new DataView(out.buffer);
  view.setUint16(0, type, false);
  view.setUint16(2, 70, false);
  view.setUint32(4, ssrc >>> 0, false);
  const ascii = new TextEncoder().encode(address);
  if (ascii.byteLength > 63) throw new RangeError(`address ${address} is too long for IP discovery`);
  out.set(ascii, 8);
  view.setUint16(72, port & 0xffff, false);
  return out;
}

export function buildIpDiscoveryRequest(ssrc: number): Uint8Array {
  return build(IP_DISCOVERY_REQUEST, ssrc, '', 0);
}

export function buildIpDiscoveryResponse(ssrc: number, address: string, port: number): Uint8Array {
  return build(IP_DISCOVERY_RESPONSE, ssrc, address, port);
}

/** True when the datagram looks like an IP discovery packet (74 bytes, type 1 or 2, length 70). */
export function isIpDiscovery(packet: Uint8Array): boolean {
  if (packet.byteLength !== IP_DISCOVERY_LENGTH) return false;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const type = view.getUint16(0, false);
  return (type === IP_DISCOVERY_REQUEST || type === IP_DISCOVERY_RESPONSE) && view.getUint16(2, false) === 70;
}

export function parseIpDiscovery(packet: Uint8Array): IpDiscovery {
  if (!isIpDiscovery(packet)) throw new DiscoveryParseError(`not an IP discovery packet (${packet.byteLength} bytes)`);
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  let end = 8;
  while (end < 72 && packet[end] !== 0) end++;
  return {
    type: view.getUint16(0, false),
    ssrc: view.getUint32(4, false),
    address: new TextDecoder().decode(packet.subarray(8, end)),
    port: view.getUint16(72, false),
  };
}

export function buildKeepAlive(counter: number): Uint8Array {
  const out = new Uint8Array(KEEP_ALIVE_LENGTH);
  new DataView(out.buffer).setUint32(0, counter >>> 0, true);
  return out;
}

/** True for the 8-byte keep-alive datagram. */
export function isKeepAlive(packet: Uint8Array): boolean {
  return packet.byteLength === KEEP_ALIVE_LENGTH;
}
