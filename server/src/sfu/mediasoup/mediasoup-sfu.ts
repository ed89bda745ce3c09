/**
 * The mediasoup driver. `MediasoupSfu` lives in the caller's process and only controls; media runs in
 * mediasoup's C++ workers (one per core, routers spread over them) and in the ingest thread (one UDP
 * socket for the whole Sfu, demultiplexed by ssrc, forwarding to each router's PlainTransport).
 * mediasoup itself is imported only when this driver is created. If a worker or the ingest thread
 * dies, the Sfu emits `died`, closes its routers and is closed.
 */
import { availableParallelism } from 'node:os';
import type { types as ms } from 'mediasoup';
import { SfuError, SfuOptionsError } from '../errors.ts';
import { ingestHost, resolveSfuOptions, type SfuOptions } from '../options.ts';
import type { RouterIdentity } from '../router-base.ts';
import { SfuBase } from '../sfu-base.ts';
import type { Sfu, SfuIngestAddress, SfuIngestStats } from '../types.ts';
import { Ingest } from './ingest.ts';
import { listenerEntries, toListenOptions } from './listen-info.ts';
import { MediasoupRouter, MEDIA_CODECS, type RouterContext } from './router.ts';
import { BUILD_HINT, defaultWorkerBin, isExecutable } from './worker-bin.ts';
import { WorkerPool } from './workers.ts';

type Mediasoup = typeof import('mediasoup');

/** Options of this driver only, besides {@link SfuOptions}. */
export interface MediasoupOptions {
  /** How many workers (C++ processes) to run. Default: one per core (`os.availableParallelism()`). */
  workers: number;
  /** The mediasoup-worker binary. Default: `MEDIASOUP_WORKER_BIN`, else the build script's cache path. */
  workerBin: string | undefined;
}

export const defaultMediasoupOptions: MediasoupOptions = { workers: availableParallelism(), workerBin: undefined };

let loaded: Promise<Mediasoup> | undefined;

/**
 * Imports mediasoup with its worker binary set. mediasoup reads `MEDIASOUP_WORKER_BIN` once, when its
 * module loads, and has no per-worker option: the first Sfu of a process fixes the binary.
 */
async function loadMediasoup(workerBin: string): Promise<Mediasoup> {
  process.env.MEDIASOUP_WORKER_BIN ??= workerBin;
  loaded ??= import('mediasoup');
  const mediasoup = await loaded;
  if (mediasoup.workerBin !== workerBin) {
    throw new SfuOptionsError(`mediasoup in this process already uses the worker ${mediasoup.workerBin}`, 'workerBin');
  }
  return mediasoup;
}

/** Its end closes each router one by one (each producer must leave the ingest's table), then the workers. */
export class MediasoupSfu extends SfuBase<MediasoupRouter> {
  readonly driver = 'mediasoup' as const;
  readonly ingest: SfuIngestAddress;
  /** The mediasoup release in use. */
  readonly version: string;
  readonly #pool: WorkerPool;
  readonly #ingest: Ingest;
  readonly #context: RouterContext;

  /** Starts the workers and the ingest. Use {@link createMediasoupSfu}. */
  static async create(partial: Partial<SfuOptions & MediasoupOptions> = {}): Promise<MediasoupSfu> {
    const { workers = defaultMediasoupOptions.workers, workerBin: givenBin, ...rest } = partial;
    const options = resolveSfuOptions(rest);
    if (!(Number.isInteger(workers) && workers >= 1 && workers <= 256)) throw new SfuOptionsError('workers must be an integer from 1 to 256', 'workers');
    const workerBin = givenBin ?? defaultWorkerBin();
    if (!isExecutable(workerBin)) throw new SfuError(`no mediasoup worker at ${workerBin ?? '(mediasoup is not installed)'}: ${BUILD_HINT}`, { code: 'bad_config' });
    const mediasoup = await loadMediasoup(workerBin);

    let died: (error: Error) => void = () => undefined;
    const pool = await WorkerPool.start(mediasoup, { count: workers, rtcMinPort: options.rtcMinPort, rtcMaxPort: options.rtcMaxPort, onDied: (e) => died(e) });
    let ingest: Ingest;
    try {
      ingest = await Ingest.start({ listenIp: options.listenIp, port: options.ingestPort, timeoutMs: options.processTimeoutMs, onDied: (e) => died(e) });
    } catch (error) {
      await pool.close(options.processTimeoutMs);
      throw error;
    }
    const sfu = new MediasoupSfu(options, mediasoup.version, pool, ingest);
    died = (error) => sfu.mediaDied(error);
    return sfu;
  }

  private constructor(options: SfuOptions, version: string, pool: WorkerPool, ingest: Ingest) {
    super(options, true);
    this.version = version;
    this.#pool = pool;
    this.#ingest = ingest;
    this.ingest = { host: ingestHost(options.listenIp), port: ingest.port };
    const entries = listenerEntries(options);
    const listen = toListenOptions(version, 'webrtc', entries, {
      udp: true,
      tcp: options.iceTcp,
      portRange: options.rtcMinPort === undefined ? undefined : { min: options.rtcMinPort, max: options.rtcMaxPort! },
    });
    this.#context = {
      ingest,
      webRtcTransportOptions: () => ({ ...listen, initialAvailableOutgoingBitrate: 600_000 }) as unknown as ms.WebRtcTransportOptions,
    };
  }

  /** The workers' process ids (killing one makes the Sfu emit `died`). */
  get pids(): number[] {
    return this.#pool.pids;
  }

  protected async openRouter(init: RouterIdentity): Promise<MediasoupRouter> {
    const worker = this.#pool.acquire();
    let router: ms.Router | undefined;
    let routerSlot: number | undefined;
    try {
      router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
      // Loopback only: it receives nothing but the ingest thread's forwarding socket.
      const plain = await router.createPlainTransport(toListenOptions(this.version, 'plain', [{ ip: '127.0.0.1' }], { udp: true, tcp: false }) as unknown as ms.PlainTransportOptions);
      const opened = await this.#ingest.openRouter(plain.tuple.localPort);
      routerSlot = opened.routerSlot;
      await plain.connect({ ip: '127.0.0.1', port: opened.localPort });
      return new MediasoupRouter({
        ...init,
        onClose: () => {
          init.onClose();
          this.#pool.release(worker);
        },
        router,
        plain,
        routerSlot,
        workerPid: worker.pid,
        context: this.#context,
      });
    } catch (error) {
      router?.close();
      if (routerSlot !== undefined) this.#ingest.closeRouter(routerSlot);
      this.#pool.release(worker);
      throw error instanceof SfuError ? error : new SfuError(`mediasoup could not create the router: ${(error as Error).message}`, { cause: error });
    }
  }

  protected async readStats(): Promise<SfuIngestStats> {
    return this.#ingest.stats();
  }

  protected async stop(): Promise<void> {
    await Promise.all([this.#ingest.close(), this.#pool.close(this.options.processTimeoutMs)]);
  }
}

/** Starts a mediasoup SFU (its workers and ingest). Rejects with `SfuError` when no worker binary is found. */
export function createMediasoupSfu(options: Partial<SfuOptions & MediasoupOptions> = {}): Promise<Sfu> {
  return MediasoupSfu.create(options);
}
