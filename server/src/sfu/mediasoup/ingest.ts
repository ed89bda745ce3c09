/**
 * The ingest as the Sfu sees it: starts the ingest thread, routes ssrcs through shared memory, opens
 * one forwarding socket per router, reads the counters. See `ingest-thread.ts` for why it exists.
 */
import { Worker } from 'node:worker_threads';
import { SfuDiedError, SfuError } from '../errors.ts';
import type { SfuIngestStats } from '../types.ts';
import type { IngestReply, IngestRequest, IngestThreadData } from './ingest-protocol.ts';
import { createIngestMemory, IngestTable, MAX_ROUTERS, T_MALFORMED, T_PACKETS, T_RTCP, T_UNKNOWN_SSRC, T_WRONG_PT, type RouteCounters, type RouteInit } from './ingest-table.ts';

export interface IngestOptions {
  listenIp: string;
  port: number;
  /** How long the thread may take to start, in ms. */
  timeoutMs: number;
  /** Told once if the thread ends by itself (it never should). */
  onDied: (error: Error) => void;
}

export class Ingest {
  /** The bound ingest port. */
  readonly port: number;
  readonly #thread: Worker;
  readonly #table: IngestTable;
  readonly #pending = new Map<number, { resolve: (port: number) => void; reject: (error: Error) => void }>();
  readonly #freeRouters: number[] = Array.from({ length: MAX_ROUTERS }, (_, i) => i);
  #nextId = 1;
  #closed = false;

  static async start(options: IngestOptions): Promise<Ingest> {
    const memory = createIngestMemory();
    const data: IngestThreadData = { kind: 'promethean-mediasoup-ingest', memory, listenIp: options.listenIp, port: options.port, recvBufferSize: 1 << 20 };
    const thread = new Worker(new URL('./ingest-thread.ts', import.meta.url), { workerData: data, stdout: false, stderr: false });
    let onMessage!: (m: IngestReply) => void;
    let onError!: (e: Error) => void;
    let onExit!: (code: number) => void;
    let timer: NodeJS.Timeout | undefined;
    try {
      const port = await new Promise<number>((resolve, reject) => {
        onMessage = (m) => (m.op === 'ready' ? resolve(m.port) : m.op === 'failed' ? reject(new SfuError(m.message)) : undefined);
        onError = (e) => reject(new SfuDiedError('the ingest thread failed to start', { cause: e }));
        onExit = (code) => reject(new SfuDiedError(`the ingest thread exited during start-up (code ${code})`));
        timer = setTimeout(() => reject(new SfuDiedError(`the ingest thread did not start in ${options.timeoutMs} ms`)), options.timeoutMs);
        thread.on('message', onMessage).once('error', onError).once('exit', onExit);
      });
      return new Ingest(thread, new IngestTable(memory), port, options.onDied);
    } catch (error) {
      await thread.terminate();
      throw error;
    } finally {
      clearTimeout(timer);
      thread.off('message', onMessage).off('error', onError).off('exit', onExit);
    }
  }

  private constructor(thread: Worker, table: IngestTable, port: number, onDied: (error: Error) => void) {
    this.#thread = thread;
    this.#table = table;
    this.port = port;
    thread.on('message', (m: IngestReply) => {
      if (m.op !== 'routerOpened') return;
      this.#pending.get(m.id)?.resolve(m.localPort);
      this.#pending.delete(m.id);
    });
    const died = (error: Error): void => {
      if (this.#closed) return;
      this.#closed = true;
      this.#rejectPending(error);
      onDied(error);
    };
    thread.once('error', (e) => died(new SfuDiedError('the ingest thread failed', { cause: e })));
    thread.once('exit', (code) => died(new SfuDiedError(`the ingest thread exited (code ${code})`)));
  }

  /**
   * Reserves a router slot and opens its forwarding socket, connected to `transportPort`; resolves with
   * the slot and the socket's port (connect the PlainTransport to it).
   */
  async openRouter(transportPort: number): Promise<{ routerSlot: number; localPort: number }> {
    this.#assertOpen();
    const routerSlot = this.#freeRouters.shift();
    if (routerSlot === undefined) throw new SfuError(`at most ${MAX_ROUTERS} routers`, { code: 'rate_limited' });
    const id = this.#nextId++;
    try {
      const localPort = await new Promise<number>((resolve, reject) => {
        this.#pending.set(id, { resolve, reject });
        this.#post({ op: 'openRouter', id, routerSlot, transportPort });
      });
      return { routerSlot, localPort };
    } catch (error) {
      this.#freeRouters.push(routerSlot);
      throw error;
    }
  }

  /** Closes a router's forwarding socket; its producers must be unrouted first. */
  closeRouter(routerSlot: number): void {
    if (this.#closed) return;
    this.#post({ op: 'closeRouter', routerSlot });
    this.#freeRouters.push(routerSlot);
  }

  isRouted(ssrc: number): boolean {
    return this.#table.has(ssrc);
  }

  /** From now on RTP with `ssrc` goes to the router's slot. */
  route(ssrc: number, init: RouteInit): void {
    this.#assertOpen();
    try {
      this.#table.add(ssrc, init);
    } catch (error) {
      throw new SfuError(error instanceof Error ? error.message : String(error), { cause: error, code: 'rate_limited' });
    }
  }

  /** From now on RTP with `ssrc` counts as unknown. Idempotent. */
  unroute(ssrc: number): void {
    this.#table.remove(ssrc);
  }

  counters(ssrc: number): RouteCounters | undefined {
    return this.#table.counters(ssrc);
  }

  stats(): SfuIngestStats {
    const m = this.#table.memory;
    return {
      packets: Atomics.load(m.totals, T_PACKETS),
      bytes: m.totalBytes[0]!,
      unknownSsrc: Atomics.load(m.totals, T_UNKNOWN_SSRC),
      malformed: Atomics.load(m.totals, T_MALFORMED),
      rtcp: Atomics.load(m.totals, T_RTCP),
      wrongPayloadType: Atomics.load(m.totals, T_WRONG_PT),
    };
  }

  /** Stops the thread (and with it every socket). Idempotent. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#rejectPending(new SfuError('the ingest is closed'));
    }
    await this.#thread.terminate();
  }

  #post(request: IngestRequest): void {
    this.#thread.postMessage(request);
  }

  #rejectPending(error: Error): void {
    for (const { reject } of this.#pending.values()) reject(error);
    this.#pending.clear();
  }

  #assertOpen(): void {
    if (this.#closed) throw new SfuError('the ingest is closed');
  }
}
