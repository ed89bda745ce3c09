/** Options every SFU driver accepts, their defaults and their validation. */
import { isIP } from 'node:net';
import { SfuOptionsError } from './errors.ts';

export interface SfuOptions {
  /**
   * Address the SFU's sockets bind to (RTP ingest, ICE). A specific address (default `127.0.0.1`)
   * makes it the only ICE host candidate; a wildcard (`0.0.0.0`, `::`) gathers every host address.
   */
  listenIp: string;
  /**
   * Address written into ICE candidates instead of the bound one (the public address behind a 1:1 NAT).
   * Loopback candidates are kept as they are. Unset: candidates carry the host's own addresses.
   */
  announcedAddress: string | undefined;
  /** Lowest UDP/TCP port for ICE sockets (with `rtcMaxPort`; both or neither). Unset: any port. */
  rtcMinPort: number | undefined;
  /** Highest UDP/TCP port for ICE sockets, greater than `rtcMinPort`. */
  rtcMaxPort: number | undefined;
  /** UDP port of the RTP ingest on `listenIp`; 0 picks a free one (see `Sfu.ingest`). */
  ingestPort: number;
  /**
   * Extra host addresses gathered as ICE candidates when `listenIp` is a wildcard (Chromium gathers no
   * loopback candidates itself; `127.0.0.1` lets a browser on the same machine connect).
   */
  iceAdditionalHostAddresses: string[];
  /** Also offer ICE over TCP (passive host candidates). */
  iceTcp: boolean;
  /** How long a request to the media process may take before it is rejected, in ms. */
  requestTimeoutMs: number;
  /** How long to wait for the media process to start, or to exit after `close()`, in ms. */
  processTimeoutMs: number;
}

export const defaultSfuOptions: SfuOptions = {
  listenIp: '127.0.0.1',
  announcedAddress: undefined,
  rtcMinPort: undefined,
  rtcMaxPort: undefined,
  ingestPort: 0,
  iceAdditionalHostAddresses: ['127.0.0.1'],
  iceTcp: false,
  requestTimeoutMs: 15_000,
  processTimeoutMs: 15_000,
};

const isPort = (n: unknown, min: number): n is number => Number.isInteger(n) && (n as number) >= min && (n as number) <= 65_535;

/** Defaults filled in and every field checked; throws `SfuOptionsError` naming the bad field. */
export function resolveSfuOptions(partial: Partial<SfuOptions> = {}): SfuOptions {
  const o: SfuOptions = { ...defaultSfuOptions };
  for (const [key, value] of Object.entries(partial)) {
    if (!(key in defaultSfuOptions)) throw new SfuOptionsError('unknown option', key);
    if (value !== undefined) (o as unknown as Record<string, unknown>)[key] = value;
  }
  if (isIP(o.listenIp) === 0) throw new SfuOptionsError('listenIp must be an IP address', 'listenIp');
  if (o.announcedAddress !== undefined && (typeof o.announcedAddress !== 'string' || o.announcedAddress.length === 0 || /\s/.test(o.announcedAddress))) {
    throw new SfuOptionsError('announcedAddress must be an IP address or a host name', 'announcedAddress');
  }
  if ((o.rtcMinPort === undefined) !== (o.rtcMaxPort === undefined)) {
    throw new SfuOptionsError('rtcMinPort and rtcMaxPort go together', o.rtcMinPort === undefined ? 'rtcMinPort' : 'rtcMaxPort');
  }
  if (o.rtcMinPort !== undefined && o.rtcMaxPort !== undefined) {
    if (!isPort(o.rtcMinPort, 1)) throw new SfuOptionsError('rtcMinPort must be a port number', 'rtcMinPort');
    if (!isPort(o.rtcMaxPort, 1) || o.rtcMaxPort <= o.rtcMinPort) {
      throw new SfuOptionsError('rtcMaxPort must be a port number greater than rtcMinPort', 'rtcMaxPort');
    }
  }
  if (!isPort(o.ingestPort, 0)) throw new SfuOptionsError('ingestPort must be 0 or a port number', 'ingestPort');
  if (!Array.isArray(o.iceAdditionalHostAddresses)) {
    throw new SfuOptionsError('iceAdditionalHostAddresses must be a list of IP addresses', 'iceAdditionalHostAddresses');
  }
  o.iceAdditionalHostAddresses.forEach((a, i) => {
    if (isIP(a) === 0) throw new SfuOptionsError('not an IP address', `iceAdditionalHostAddresses.${i}`);
  });
  if (typeof o.iceTcp !== 'boolean') throw new SfuOptionsError('iceTcp must be a boolean', 'iceTcp');
  for (const key of ['requestTimeoutMs', 'processTimeoutMs'] as const) {
    if (!(Number.isFinite(o[key]) && o[key] > 0)) throw new SfuOptionsError(`${key} must be a positive number`, key);
  }
  o.iceAdditionalHostAddresses = [...o.iceAdditionalHostAddresses];
  return o;
}

/** `0.0.0.0` or `::`: the socket listens on every interface. */
export function isWildcardAddress(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::';
}

/** The host producers should send RTP to: `listenIp`, or loopback when `listenIp` is a wildcard. */
export function ingestHost(listenIp: string): string {
  if (listenIp === '0.0.0.0') return '127.0.0.1';
  if (listenIp === '::') return '::1';
  return listenIp;
}
