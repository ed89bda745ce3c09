/**
 * Where mediasoup transports listen, in the shape the loaded release expects. Up to 3.12 a transport
 * takes `listenIps` (WebRTC) or `listenIp` (plain) with `announcedIp`, protocols as `enableUdp` /
 * `enableTcp`, and the port range on the worker; from 3.13 it takes `listenInfos` / `listenInfo`, one
 * entry per protocol, with the port range per entry (and from 3.14 `announcedAddress` for
 * `announcedIp`). Everything else in the driver speaks {@link ListenEntry}.
 */
import { networkInterfaces } from 'node:os';
import { isWildcardAddress, type SfuOptions } from '../options.ts';

/** One address a transport binds, and what its ICE candidate says instead, if anything. */
export interface ListenEntry {
  ip: string;
  announcedAddress?: string | undefined;
}

export interface ListenFlags {
  udp: boolean;
  tcp: boolean;
  /** Ports to pick from (the release ≥ 3.13 shape only; older releases take it per worker). */
  portRange?: { min: number; max: number } | undefined;
}

/** The listening part of `createWebRtcTransport()` / `createPlainTransport()` options. */
export type ListenOptions = Record<string, unknown>;

/** True for releases that take `listenInfo(s)` (3.13 and later). */
export function usesListenInfos(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map((n) => Number.parseInt(n, 10));
  return major > 3 || (major === 3 && minor >= 13);
}

/**
 * The one translation: `entries` as `listenIps` (and `listenIp` for a plain transport, which binds
 * only the first entry, over UDP) for releases before 3.13, as `listenInfos` / `listenInfo` after.
 */
export function toListenOptions(version: string, transport: 'webrtc' | 'plain', entries: readonly ListenEntry[], flags: ListenFlags): ListenOptions {
  if (entries.length === 0) throw new TypeError('at least one listen entry is needed');
  if (!usesListenInfos(version)) {
    const ips = entries.map((e) => (e.announcedAddress === undefined ? { ip: e.ip } : { ip: e.ip, announcedIp: e.announcedAddress }));
    if (transport === 'plain') return { listenIp: ips[0] };
    return { listenIps: ips, enableUdp: flags.udp, enableTcp: flags.tcp, preferUdp: true };
  }
  const [, minor = 0] = version.split('.').map((n) => Number.parseInt(n, 10));
  const announcedKey = minor === 13 ? 'announcedIp' : 'announcedAddress';
  const info = (e: ListenEntry, protocol: 'udp' | 'tcp'): Record<string, unknown> => ({
    protocol,
    ip: e.ip,
    ...(e.announcedAddress === undefined ? {} : { [announcedKey]: e.announcedAddress }),
    ...(flags.portRange ? { portRange: { min: flags.portRange.min, max: flags.portRange.max } } : {}),
  });
  if (transport === 'plain') return { listenInfo: info(entries[0]!, 'udp') };
  const protocols = [...(flags.udp ? (['udp'] as const) : []), ...(flags.tcp ? (['tcp'] as const) : [])];
  return { listenInfos: entries.flatMap((e) => protocols.map((p) => info(e, p))) };
}

const isLoopback = (ip: string): boolean => ip === '::1' || ip.startsWith('127.');

/**
 * The addresses a listener's WebRTC transport binds, from the Sfu options: `listenIp` itself (with the
 * announced address, unless it is loopback); for a wildcard, every host address of that family
 * instead (mediasoup binds one socket per address and needs a concrete one for the candidate), or the
 * wildcard with the announced address, plus `iceAdditionalHostAddresses` (kept as they are).
 */
export function listenerEntries(options: Pick<SfuOptions, 'listenIp' | 'announcedAddress' | 'iceAdditionalHostAddresses'>, interfaces = networkInterfaces()): ListenEntry[] {
  const { listenIp, announcedAddress } = options;
  const announce = (ip: string): ListenEntry => (announcedAddress === undefined || isLoopback(ip) ? { ip } : { ip, announcedAddress });
  if (!isWildcardAddress(listenIp)) return [announce(listenIp)];
  const family = listenIp === '::' ? 'IPv6' : 'IPv4';
  const entries: ListenEntry[] = [];
  if (announcedAddress !== undefined) {
    entries.push({ ip: listenIp, announcedAddress });
  } else {
    for (const list of Object.values(interfaces)) {
      for (const a of list ?? []) {
        if (a.family === family && !a.internal && !(family === 'IPv6' && a.scopeid)) entries.push({ ip: a.address });
      }
    }
  }
  for (const ip of options.iceAdditionalHostAddresses) {
    if (!entries.some((e) => e.ip === ip)) entries.push({ ip });
  }
  if (entries.length === 0) entries.push({ ip: family === 'IPv4' ? '127.0.0.1' : '::1' });
  return entries;
}
