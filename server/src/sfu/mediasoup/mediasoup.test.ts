/**
 * The mediasoup driver: the SFU conformance suite, then what is specific to mediasoup (options, the
 * worker binary, candidates, workers, answers). Needs a worker built by scripts/build-mediasoup-worker.sh:
 * skipped without one locally, failed under CI=true.
 */
import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { requires } from '../../../../test/support/requires.ts';
import { InvalidStateError, SfuError, SfuOptionsError } from '../errors.ts';
import { runSfuSuite } from '../sfu.suite.ts';
import { RtpTestSender, until } from '../testing.ts';
import type { Sfu, SfuMediasoupOffer } from '../types.ts';
import { createMediasoupReceiver, OPUS_RECEIVE_CAPABILITIES } from './mediasoup-receiver.ts';
import { createMediasoupSfu, MediasoupSfu } from './mediasoup-sfu.ts';
import type { MediasoupRouter } from './router.ts';
import { defaultWorkerBin, mediasoupAvailable } from './worker-bin.ts';

const available = requires(
  `mediasoup worker (${defaultWorkerBin() ?? 'mediasoup not installed'})`,
  mediasoupAvailable(),
  'run scripts/build-mediasoup-worker.sh; it needs Debian packages python3 meson ninja-build pkg-config g++ libssl-dev libuv1-dev libsrtp2-dev libusrsctp-dev libabsl-dev nlohmann-json3-dev',
);

describe('mediasoup driver without a worker', () => {
  it('createMediasoupSfu() rejects with SfuError naming the build script when the worker binary is missing', async () => {
    const error = await createMediasoupSfu({ workerBin: '/nonexistent/mediasoup-worker' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SfuError);
    expect((error as Error).message).toMatch(/build-mediasoup-worker\.sh/);
  });

  it('createMediasoupSfu() rejects bad options with SfuOptionsError naming the field, before starting anything', async () => {
    await expect(createMediasoupSfu({ listenIp: 'localhost' })).rejects.toMatchObject({ name: 'SfuOptionsError', path: 'listenIp' });
    await expect(createMediasoupSfu({ rtcMinPort: 40_000 })).rejects.toMatchObject({ path: 'rtcMaxPort' });
    await expect(createMediasoupSfu({ workers: 0 })).rejects.toMatchObject({ path: 'workers' });
    await expect(createMediasoupSfu({ listenIP: '0.0.0.0' } as never)).rejects.toBeInstanceOf(SfuOptionsError);
  });
});

describe.skipIf(!available)('mediasoup', () => {
  runSfuSuite({
    name: 'mediasoup',
    create: (options) => createMediasoupSfu(options),
    receiver: createMediasoupReceiver,
    crash: (sfu: Sfu) => {
      process.kill((sfu as MediasoupSfu).pids[0]!, 'SIGKILL');
    },
    offerKind: 'mediasoup',
    reusesMids: false,
  });

  describe('mediasoup driver', () => {
    it('createMediasoupSfu() rejects with SfuError when the ingest port is taken, and leaves no worker behind', async () => {
      const taken = createSocket('udp4');
      await new Promise<void>((resolve) => taken.bind(0, '127.0.0.1', resolve));
      try {
        const error = await createMediasoupSfu({ ingestPort: taken.address().port, workers: 1 }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SfuError);
        expect((error as Error).message).toMatch(/EADDRINUSE/);
      } finally {
        await new Promise<void>((resolve) => taken.close(() => resolve()));
      }
    });

    it('offers only the listen address as candidate, from the configured port range, and the announced address instead when set', async () => {
      const sfu = await createMediasoupSfu({ rtcMinPort: 47_200, rtcMaxPort: 47_299, iceTcp: true, workers: 1 });
      const wild = await createMediasoupSfu({ listenIp: '0.0.0.0', announcedAddress: '203.0.113.7', workers: 1 });
      try {
        expect(sfu.driver).toBe('mediasoup');
        expect(sfu.ingest.host).toBe('127.0.0.1');
        expect(wild.ingest.host).toBe('127.0.0.1');
        const offerOf = async (on: Sfu): Promise<SfuMediasoupOffer> => {
          const router = await on.createRouter('s');
          const producer = await router.produce({ userId: 'u', ssrc: 1 });
          const offer = await (await router.createListener()).setProducers([producer.id]);
          if (offer.kind !== 'mediasoup') throw new Error('mediasoup offers mediasoup parameters');
          return offer;
        };
        const candidates = (await offerOf(sfu)).transport.iceCandidates as Array<{ ip: string; port: number; protocol: string; tcpType?: string }>;
        expect(candidates.map((c) => c.protocol).sort()).toEqual(['tcp', 'udp']);
        for (const c of candidates) {
          expect(c.ip).toBe('127.0.0.1');
          expect(c.port).toBeGreaterThanOrEqual(47_200);
          expect(c.port).toBeLessThanOrEqual(47_299);
        }
        expect(candidates.find((c) => c.protocol === 'tcp')?.tcpType).toBe('passive');

        const addresses = ((await offerOf(wild)).transport.iceCandidates as Array<{ ip: string }>).map((c) => c.ip);
        expect(addresses.sort()).toEqual(['127.0.0.1', '203.0.113.7']);
      } finally {
        await Promise.all([sfu.close(), wild.close()]);
      }
    });

    it('runs one worker per requested core and spreads routers over them; media crosses from the ingest to every worker', async () => {
      const sfu = (await createMediasoupSfu({ workers: 2 })) as MediasoupSfu;
      const sender = await RtpTestSender.open(sfu.ingest);
      const receivers: Array<Awaited<ReturnType<typeof createMediasoupReceiver>>> = [];
      try {
        expect(new Set(sfu.pids).size).toBe(2);
        const routers = await Promise.all(['a', 'b', 'c', 'd'].map((s) => sfu.createRouter(s)));
        const pids = (routers as MediasoupRouter[]).map((r) => r.workerPid);
        expect(pids.filter((p) => p === sfu.pids[0])).toHaveLength(2);
        expect(pids.filter((p) => p === sfu.pids[1])).toHaveLength(2);
        for (const [i, router] of routers.entries()) {
          const producer = await router.produce({ userId: `u${i}`, ssrc: 5000 + i });
          const listener = await router.createListener();
          const rx = await createMediasoupReceiver();
          receivers.push(rx);
          const offer = await listener.setProducers([producer.id]);
          await listener.answer(await rx.accept(offer));
          await until(() => listener.connectionState === 'connected', `listener on router ${router.sessionId} connected`);
          await sender.stream(producer.ssrc, 5);
          await until(() => rx.received(offer.tracks[0]!.mid).length >= 5, `packets through router ${router.sessionId}`);
        }
      } finally {
        for (const rx of receivers) await rx.close();
        sender.close();
        await sfu.close();
      }
    });

    it('answer() refuses a stale revision, a first answer without DTLS parameters and a browser that cannot receive Opus', async () => {
      const sfu = await createMediasoupSfu({ workers: 1 });
      const rx = await createMediasoupReceiver();
      try {
        const router = await sfu.createRouter('s');
        const producer = await router.produce({ userId: 'u', ssrc: 77 });
        const listener = await router.createListener();
        const first = await listener.setProducers([producer.id]);
        const second = await listener.setProducers([producer.id]);
        if (first.kind !== 'mediasoup' || second.kind !== 'mediasoup') throw new Error('mediasoup offers');
        expect(second.revision).toBeGreaterThan(first.revision);
        expect(second.transport.id).toBe(first.transport.id);
        expect(second.consumers[0]!.id).toBe(first.consumers[0]!.id);
        expect(second.consumers[0]!.rtpParameters.mid).toBe(second.tracks[0]!.mid);

        const answer = await rx.accept(second);
        await expect(listener.answer({ ...answer, revision: first.revision })).rejects.toBeInstanceOf(InvalidStateError);
        await expect(listener.answer('v=0\r\n')).rejects.toMatchObject({ name: 'SfuError', code: 'schema' });
        await expect(listener.answer({ ...answer, dtlsParameters: undefined })).rejects.toThrow(/dtlsParameters/);
        const noOpus = { ...OPUS_RECEIVE_CAPABILITIES, codecs: [{ ...OPUS_RECEIVE_CAPABILITIES.codecs[0]!, mimeType: 'audio/PCMU', clockRate: 8000, channels: 1 }] };
        await expect(listener.answer({ ...answer, rtpCapabilities: noOpus })).rejects.toThrow(/Opus/);
        await listener.answer(answer);
        await until(() => listener.connectionState === 'connected', 'connected');
        // Answered: a second answer to the same offer finds none awaiting.
        await expect(listener.answer(answer)).rejects.toBeInstanceOf(InvalidStateError);
      } finally {
        await rx.close();
        await sfu.close();
      }
    });
  });
});
