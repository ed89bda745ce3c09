/** Where transports listen: the one translation to each release's option names, and the addresses chosen. */
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { defaultSfuOptions } from '../options.ts';
import { listenerEntries, toListenOptions, usesListenInfos } from './listen-info.ts';

const entries = [{ ip: '0.0.0.0', announcedAddress: '203.0.113.7' }, { ip: '127.0.0.1' }];

describe('toListenOptions()', () => {
  it('usesListenInfos() is true from 3.13 on', () => {
    expect(['3.8.4', '3.12.16', '3.12.0'].map(usesListenInfos)).toEqual([false, false, false]);
    expect(['3.13.0', '3.14.6', '3.19.3', '3.27.1', '4.0.0'].map(usesListenInfos)).toEqual([true, true, true, true, true]);
  });

  it('gives releases before 3.13 listenIps with announcedIp and the protocols as flags', () => {
    expect(toListenOptions('3.12.16', 'webrtc', entries, { udp: true, tcp: true, portRange: { min: 40_000, max: 40_100 } })).toEqual({
      listenIps: [{ ip: '0.0.0.0', announcedIp: '203.0.113.7' }, { ip: '127.0.0.1' }],
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
    });
    expect(toListenOptions('3.8.4', 'webrtc', [{ ip: '127.0.0.1' }], { udp: true, tcp: false })).toEqual({
      listenIps: [{ ip: '127.0.0.1' }],
      enableUdp: true,
      enableTcp: false,
      preferUdp: true,
    });
    expect(toListenOptions('3.8.4', 'plain', entries, { udp: true, tcp: false })).toEqual({ listenIp: { ip: '0.0.0.0', announcedIp: '203.0.113.7' } });
  });

  it('gives 3.13 and later one listenInfo per address and protocol, with the port range on each', () => {
    expect(toListenOptions('3.19.3', 'webrtc', entries, { udp: true, tcp: true, portRange: { min: 40_000, max: 40_100 } })).toEqual({
      listenInfos: [
        { protocol: 'udp', ip: '0.0.0.0', announcedAddress: '203.0.113.7', portRange: { min: 40_000, max: 40_100 } },
        { protocol: 'tcp', ip: '0.0.0.0', announcedAddress: '203.0.113.7', portRange: { min: 40_000, max: 40_100 } },
        { protocol: 'udp', ip: '127.0.0.1', portRange: { min: 40_000, max: 40_100 } },
        { protocol: 'tcp', ip: '127.0.0.1', portRange: { min: 40_000, max: 40_100 } },
      ],
    });
    expect(toListenOptions('3.27.1', 'plain', [{ ip: '127.0.0.1' }], { udp: true, tcp: true })).toEqual({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' } });
    // 3.13 called the announced address announcedIp.
    expect(toListenOptions('3.13.24', 'webrtc', [entries[0]!], { udp: true, tcp: false })).toEqual({
      listenInfos: [{ protocol: 'udp', ip: '0.0.0.0', announcedIp: '203.0.113.7' }],
    });
  });

  it('refuses an empty list of addresses', () => {
    expect(() => toListenOptions('3.12.16', 'webrtc', [], { udp: true, tcp: false })).toThrow(TypeError);
  });
});

describe('listenerEntries()', () => {
  const nic = (address: string, family: 'IPv4' | 'IPv6', internal = false): NetworkInterfaceInfo =>
    ({ address, family, internal, netmask: '', mac: '', cidr: null, ...(family === 'IPv6' ? { scopeid: 0 } : {}) }) as NetworkInterfaceInfo;
  const interfaces = { lo: [nic('127.0.0.1', 'IPv4', true), nic('::1', 'IPv6', true)], eth0: [nic('192.168.1.20', 'IPv4'), nic('2001:db8::20', 'IPv6')] };
  const base = { ...defaultSfuOptions };

  it('binds a specific listenIp only, announced unless it is loopback', () => {
    expect(listenerEntries(base, interfaces)).toEqual([{ ip: '127.0.0.1' }]);
    expect(listenerEntries({ ...base, announcedAddress: '203.0.113.7' }, interfaces)).toEqual([{ ip: '127.0.0.1' }]);
    expect(listenerEntries({ ...base, listenIp: '192.168.1.20', announcedAddress: '203.0.113.7' }, interfaces)).toEqual([
      { ip: '192.168.1.20', announcedAddress: '203.0.113.7' },
    ]);
  });

  it('turns a wildcard into every host address of its family plus the additional ones', () => {
    expect(listenerEntries({ ...base, listenIp: '0.0.0.0' }, interfaces)).toEqual([{ ip: '192.168.1.20' }, { ip: '127.0.0.1' }]);
    expect(listenerEntries({ ...base, listenIp: '::', iceAdditionalHostAddresses: [] }, interfaces)).toEqual([{ ip: '2001:db8::20' }]);
  });

  it('keeps a wildcard with an announced address, and loopback as it is', () => {
    expect(listenerEntries({ ...base, listenIp: '0.0.0.0', announcedAddress: '203.0.113.7' }, interfaces)).toEqual([
      { ip: '0.0.0.0', announcedAddress: '203.0.113.7' },
      { ip: '127.0.0.1' },
    ]);
  });
});
