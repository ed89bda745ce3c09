/**
 * The mediasoup workers of one Sfu: one C++ process per core (each runs its routers' media on its own
 * event loop), routers placed on the worker with the fewest. A worker that dies is reported once.
 */
import type { types as ms } from 'mediasoup';
import { SfuDiedError } from '../errors.ts';

type Mediasoup = typeof import('mediasoup');

export interface WorkerPoolOptions {
  count: number;
  rtcMinPort: number | undefined;
  rtcMaxPort: number | undefined;
  /** Told once, for the first worker that dies (the Sfu then closes everything). */
  onDied: (error: Error) => void;
}

export class WorkerPool {
  readonly #workers: ms.Worker[];
  readonly #load = new Map<ms.Worker, number>();
  #closed = false;

  static async start(mediasoup: Mediasoup, options: WorkerPoolOptions): Promise<WorkerPool> {
    const settings: ms.WorkerSettings = { logLevel: 'error' };
    if (options.rtcMinPort !== undefined && options.rtcMaxPort !== undefined) {
      settings.rtcMinPort = options.rtcMinPort;
      settings.rtcMaxPort = options.rtcMaxPort;
    }
    const started = await Promise.allSettled(Array.from({ length: options.count }, () => mediasoup.createWorker(settings)));
    const workers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      for (const w of workers) w.close();
      throw new SfuDiedError(`a mediasoup worker could not start: ${failed.reason instanceof Error ? failed.reason.message : String(failed.reason)}`, { cause: failed.reason });
    }
    return new WorkerPool(workers, options.onDied);
  }

  private constructor(workers: ms.Worker[], onDied: (error: Error) => void) {
    this.#workers = workers;
    for (const w of workers) {
      this.#load.set(w, 0);
      w.on('died', (error) => {
        if (this.#closed) return;
        this.#closed = true;
        onDied(new SfuDiedError(`mediasoup worker ${w.pid} died: ${error.message}`, { cause: error }));
      });
    }
  }

  /** The workers' process ids. */
  get pids(): number[] {
    return this.#workers.map((w) => w.pid);
  }

  /** The worker with the fewest routers; count one more on it until `release()`. */
  acquire(): ms.Worker {
    let best = this.#workers[0]!;
    for (const w of this.#workers) if (this.#load.get(w)! < this.#load.get(best)!) best = w;
    this.#load.set(best, this.#load.get(best)! + 1);
    return best;
  }

  release(worker: ms.Worker): void {
    const n = this.#load.get(worker);
    if (n !== undefined && n > 0) this.#load.set(worker, n - 1);
  }

  /** Closes every worker; resolves once their processes are gone (or after `timeoutMs`). */
  async close(timeoutMs: number): Promise<void> {
    this.#closed = true;
    const pids = this.pids;
    for (const w of this.#workers) w.close();
    const deadline = Date.now() + timeoutMs;
    while (pids.some(isAlive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    for (const pid of pids.filter(isAlive)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
