/** The werift driver: the SFU conformance suite, then what is specific to werift (options, announced address). */
import { describe, expect, it } from 'vitest';
import { runSfuSuite } from '../sfu.suite.ts';
import { createSocket } from 'node:dgram';
import { SfuError, SfuOptionsError } from '../errors.ts';
import type { Sfu } from '../types.ts';
import { createWeriftSfu, WeriftSfu } from './werift-sfu.ts';
import { createWeriftReceiver } from './werift-receiver.ts';

runSfuSuite({
  name: 'werift',
  create: (options) => createWeriftSfu(options),
  receiver: createWeriftReceiver,
  crash: (sfu: Sfu) => {
    process.kill((sfu as WeriftSfu).pid, 'SIGKILL');
  },
});

describe('werift driver', () => {
  it('createWeriftSfu() rejects bad options with SfuOptionsError naming the field, before spawning', async () => {
    await expect(createWeriftSfu({ listenIp: 'localhost' })).rejects.toMatchObject({ name: 'SfuOptionsError', path: 'listenIp' });
    await expect(createWeriftSfu({ rtcMinPort: 40_000 })).rejects.toMatchObject({ path: 'rtcMaxPort' });
    await expect(createWeriftSfu({ rtcMinPort: 40_000, rtcMaxPort: 40_000 })).rejects.toBeInstanceOf(SfuOptionsError);
    await expect(createWeriftSfu({ ingestPort: 70_000 })).rejects.toMatchObject({ path: 'ingestPort' });
    await expect(createWeriftSfu({ listenIP: '0.0.0.0' } as never)).rejects.toMatchObject({ path: 'listenIP' });
  });

  it('createWeriftSfu() rejects with SfuError when the ingest port is taken', async () => {
    const taken = createSocket('udp4');
    await new Promise<void>((resolve) => taken.bind(0, '127.0.0.1', resolve));
    try {
      const error = await createWeriftSfu({ ingestPort: taken.address().port }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SfuError);
      expect((error as Error).message).toMatch(/EADDRINUSE/);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });

  it('offers only the listen address as candidate, from the configured port range, and the announced address instead when set', async () => {
    const sfu = await createWeriftSfu({ rtcMinPort: 47_100, rtcMaxPort: 47_199, iceTcp: true });
    const wild = await createWeriftSfu({ listenIp: '0.0.0.0', announcedAddress: '203.0.113.7' });
    try {
      expect(sfu.driver).toBe('werift');
      expect(sfu.ingest.host).toBe('127.0.0.1');
      expect(wild.ingest.host).toBe('127.0.0.1');
      const router = await sfu.createRouter('s');
      const producer = await router.produce({ userId: 'u', ssrc: 1 });
      const offer = await (await router.createListener()).setProducers([producer.id]);
      if (offer.kind !== 'sdp') throw new Error('werift offers SDP');
      const candidates = offer.sdp.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:'));
      expect(candidates.length).toBeGreaterThan(0);
      for (const c of candidates) {
        const [, , transport, , address, port] = c.split(' ');
        expect(address).toBe('127.0.0.1');
        if (port !== '9') expect(Number(port)).toBeGreaterThanOrEqual(47_100);
        if (port !== '9') expect(Number(port)).toBeLessThanOrEqual(47_199);
        expect(['udp', 'tcp']).toContain(transport?.toLowerCase());
      }
      expect(candidates.some((c) => c.includes(' tcp ') && c.includes('tcptype passive'))).toBe(true);

      const r = await wild.createRouter('s');
      const p = await r.produce({ userId: 'u', ssrc: 1 });
      const wildOffer = await (await r.createListener()).setProducers([p.id]);
      if (wildOffer.kind !== 'sdp') throw new Error('werift offers SDP');
      const addresses = wildOffer.sdp
        .split(/\r?\n/)
        .filter((l) => l.startsWith('a=candidate:'))
        .map((l) => l.split(' ')[4]);
      expect(addresses).toContain('203.0.113.7');
      expect(addresses.every((a) => a === '203.0.113.7' || a === '127.0.0.1')).toBe(true);
    } finally {
      await Promise.all([sfu.close(), wild.close()]);
    }
  });
});
