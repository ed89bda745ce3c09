/**
 * `promethean bench capacity`: how many consumers (listeners × speakers) one core of SFU sustains
 * with < 0.5 % loss, per driver, side by side in one run.
 *
 * Setup per driver: the Sfu is created through its driver factory ({@link DRIVERS}: werift's media
 * process; mediasoup's one worker and its ingest thread) and that media work is pinned to core 0
 * (`taskset`); this process (signalling only) and the load generators (capacity-gen.child.ts) run
 * pinned to core 1. One router, N = 10 speakers: a sender child feeds each producer plain RTP at 50
 * packets/s (160-byte payloads, 64 kb/s Opus-sized) into the ingest. A receiver child holds the
 * listeners: werift peer connections that do ICE and DTLS like a browser but count SRTP datagrams
 * by their clear RTP header without decrypting (see the child). Each listener consumes all N
 * producers (one m-line each).
 *
 * Steps: listeners are added (never removed) so consumers = L × N grow step by step; after each
 * step settles, a window of W seconds is measured: the receivers are told a range of the sender's
 * sequence numbers, whose first frame the sender marks (the marker bit gives each consumer's
 * renumbering offset; a short calibration window before it covers a lost marked packet), and count
 * per listener and ssrc the packets inside it; loss = 1 − received / (L × N × frames).
 * CPU of every process is read from /proc/<pid>/stat (utime + stime, all threads) at the moments the
 * sender reaches the window's first and last frame, and so are each media thread's running and
 * runnable-but-waiting times (/proc/<pid>/task/<tid>/schedstat): on a shared machine other processes
 * take part of core 0, and the SFU cannot use more than what is left. Kernel drops at the ingest socket
 * (/proc/net/udp) tell loss at the SFU's input from loss after it. A step that fails is measured once
 * more (a neighbour's burst can sink one window on a shared machine). Stepping stops at loss ≥ 0.5 %,
 * when the SFU is saturated (a media thread running + waiting for its core ≥ 95 % of the window),
 * when the generators reach 90 % of their core (then they, not the SFU, would be the limit), or at
 * the time budget.
 *
 * Rows per driver: the largest step with loss < 0.5 % (consumers on one core; on a contended core,
 * fewer than the core could do); the SFU's CPU cost per consumer-packet (least-squares slope of CPU
 * over consumer-packets/s across those steps, so the ingest and timers are in the intercept, not the
 * slope), CPU % per consumer and the consumers per core that cost implies (independent of how much
 * of the core others took); how long the SFU's busiest thread waited for its core at the largest step;
 * the generators' own CPU there beside the SFU's. The anchors from the issue are rows of their own,
 * labelled as published figures.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mediasoupAvailable } from '../../server/src/sfu/mediasoup/worker-bin.ts';
import { WeriftSfu } from '../../server/src/sfu/werift/werift-sfu.ts';
import type { Sfu, SfuDriverName, SfuListener, SfuRouter } from '../../server/src/sfu/types.ts';
import { canPin, pin, pinThread, withAffinity } from './affinity.ts';
import type { FromGenerator, ListenerReport, SendSpec, ToGenerator } from './capacity-gen.child.ts';
import type { BenchContext, BenchRow, BenchSuite } from './types.ts';

/** Where an SFU does media work: a whole process (every thread), or one thread of a process. */
export interface MediaTask {
  pid: number;
  /** Set for a single thread. */
  tid?: number;
  label: string;
}

/** What a driver factory hands over: the Sfu and where its media work runs (pinned to core 0 and measured). */
export interface DriverUnderTest {
  sfu: Sfu;
  media: MediaTask[];
}

export type DriverFactory = () => Promise<DriverUnderTest>;

/** Thread ids of this process. */
function ownThreads(): Set<number> {
  return new Set(readdirSync('/proc/self/task').map(Number));
}

/**
 * Driver name → factory, or a reason it cannot run here. Each returns the Sfu with everything that
 * moves its media: werift's media process; mediasoup's one worker (one core's worth) and its ingest
 * thread, a worker thread of this process that forwards the ingest's RTP to the worker.
 */
export const DRIVERS: Record<SfuDriverName, () => DriverFactory | string> = {
  werift: () => async () => {
    const sfu = await WeriftSfu.create();
    return { sfu, media: [{ pid: sfu.pid, label: 'werift media process' }] };
  },
  mediasoup: () => {
    if (!mediasoupAvailable()) return 'no mediasoup worker binary (scripts/build-mediasoup-worker.sh)';
    return async () => {
      const { MediasoupSfu } = await import('../../server/src/sfu/mediasoup/index.ts');
      const before = ownThreads();
      const sfu = await MediasoupSfu.create({ workers: 1 });
      const ingest = [...ownThreads()].filter((tid) => !before.has(tid) && readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === 'WorkerThread');
      if (ingest.length !== 1) throw new Error(`expected one new worker thread (the ingest) in this process, found ${ingest.length}`);
      return {
        sfu,
        media: [...sfu.pids.map((pid) => ({ pid, label: 'mediasoup worker' })), { pid: process.pid, tid: ingest[0]!, label: 'ingest thread' }],
      };
    };
  },
};

/** Published figures (not measured here), shown as reference rows. */
const ANCHORS = [
  { name: 'published figure, not measured: mediasoup ~500 consumers per worker (one core)', value: 500 },
  { name: 'published figure, not measured: LiveKit, works out to ~100 consumers per core', value: 100 },
] as const;

const SPEAKERS = 10;
const PACKETS_PER_SECOND = 50;
const LOSS_LIMIT = 0.005;
const SFU_SATURATED = 0.95;
const GENERATOR_LIMIT = 0.9;

interface Plan {
  /** Listener counts, ascending. */
  steps: number[];
  settleMs: number;
  windowSeconds: number;
  /** Stop adding steps after this long (per driver). */
  budgetMs: number;
}

function planFor(quick: boolean): Plan {
  return quick
    ? { steps: [1, 4, 8], settleMs: 500, windowSeconds: 2, budgetMs: 40_000 }
    : { steps: [1, 2, 4, 6, 8, 10, 12, 14, 16, 20, 24, 32, 40, 50, 60, 80], settleMs: 1000, windowSeconds: 3, budgetMs: 140_000 };
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) of a task so far: /proc/<pid>/stat (every thread) or /proc/<pid>/task/<tid>/stat. */
function cpuSeconds(t: MediaTask): number {
  const stat = readFileSync(t.tid === undefined ? `/proc/${t.pid}/stat` : `/proc/${t.pid}/task/${t.tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/**
 * Scheduler statistics of a task's (main) thread, /proc/<pid>/task/<tid>/schedstat, in seconds: time
 * on a CPU and time runnable but waiting for one (on a shared machine, what other processes on its
 * core took from it). For a process, its main thread: the event loop that moves every packet.
 */
function threadSched(t: MediaTask): { run: number; wait: number } {
  try {
    const [run, wait] = readFileSync(`/proc/${t.pid}/task/${t.tid ?? t.pid}/schedstat`, 'utf8').split(' ').map(Number);
    return { run: run! / 1e9, wait: wait! / 1e9 };
  } catch {
    return { run: Number.NaN, wait: Number.NaN };
  }
}

/** Datagrams the kernel dropped on the IPv4 UDP socket bound to `port` (the last column of /proc/net/udp). */
function udpDrops(port: number): number {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let drops = 0;
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[1]?.endsWith(hex)) drops += Number(cols.at(-1));
  }
  return drops;
}

// ---------------------------------------------------------------------------------------------------
// generator children

const GEN_CHILD = fileURLToPath(new URL('./capacity-gen.child.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** A request without its `ref` (distributes over the union). */
type WithoutRef<T> = T extends unknown ? Omit<T, 'ref'> : never;

class Generator {
  readonly proc: ChildProcess;
  #ref = 0;
  readonly #waiting = new Map<number, (m: Extract<FromGenerator, { type: 'reply' }>) => void>();
  onReached: (frame: number) => void = () => undefined;

  private constructor(proc: ChildProcess) {
    this.proc = proc;
    proc.on('message', (m: FromGenerator) => {
      if (m.type === 'reply') {
        const resolve = this.#waiting.get(m.ref);
        this.#waiting.delete(m.ref);
        resolve?.(m);
      } else if (m.type === 'reached') this.onReached(m.frame);
    });
  }

  static async start(spec: SendSpec | { role: 'receive' }): Promise<Generator> {
    const node = ['--import', TSX, GEN_CHILD, JSON.stringify(spec)];
    const [cmd, argv] = canPin ? ['taskset', ['-c', '1', process.execPath, ...node]] : [process.execPath, node];
    const proc = spawn(cmd, argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: FromGenerator) => {
        if (m.type !== 'ready') return;
        proc.off('message', onMessage);
        resolve();
      };
      proc.on('message', onMessage);
      proc.once('exit', (code) => reject(new Error(`capacity generator (${spec.role}) exited with ${code}`)));
      proc.once('error', reject);
    });
    return new Generator(proc);
  }

  get pid(): number {
    return this.proc.pid!;
  }

  request(m: WithoutRef<Extract<ToGenerator, { ref: number }>>): Promise<Extract<FromGenerator, { type: 'reply' }>> {
    const ref = ++this.#ref;
    return new Promise((resolve, reject) => {
      this.#waiting.set(ref, (reply) => (reply.error ? reject(new Error(reply.error)) : resolve(reply)));
      this.proc.send({ ...m, ref } as ToGenerator);
    });
  }

  send(m: ToGenerator): void {
    this.proc.send(m);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) return resolve();
      this.proc.once('exit', () => resolve());
      this.proc.disconnect();
      setTimeout(() => this.proc.kill('SIGKILL'), 3000).unref();
    });
  }
}

// ---------------------------------------------------------------------------------------------------

interface StepResult {
  listeners: number;
  consumers: number;
  expected: number;
  received: number;
  loss: number;
  /** Consumer-packets per second the SFU was asked to send. */
  rate: number;
  seconds: number;
  /** Fraction of one core. */
  sfuCpu: number;
  /** Fraction of the window the SFU's busiest media thread waited for a CPU (taken by other processes on its core). */
  sfuWait: number;
  /** Fraction of the window the SFU's busiest media thread was running or waiting to run: 1 = it never idled. */
  sfuBusy: number;
  /** Datagrams the kernel dropped at the SFU's ingest socket during the window. */
  ingestDrops: number;
  /** Fraction of the window the generators' main threads waited for a CPU (summed). */
  generatorWait: number;
  receiverCpu: number;
  senderCpu: number;
  parentCpu: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function waitConnected(listener: SfuListener, timeoutMs: number): Promise<void> {
  if (listener.connectionState === 'connected') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      listener.off('connectionstatechange', onState);
      reject(new Error(`listener ${listener.id} did not connect in ${timeoutMs} ms (${listener.connectionState})`));
    }, timeoutMs);
    const onState = (state: string) => {
      if (state === 'connected') {
        clearTimeout(timer);
        listener.off('connectionstatechange', onState);
        resolve();
      } else if (state === 'failed' || state === 'closed') {
        clearTimeout(timer);
        listener.off('connectionstatechange', onState);
        reject(new Error(`listener ${listener.id} ${state}`));
      }
    };
    listener.on('connectionstatechange', onState);
  });
}

async function addListener(router: SfuRouter, producerIds: string[], receiver: Generator): Promise<SfuListener> {
  const listener = await router.createListener();
  const offer = await listener.setProducers(producerIds);
  const reply = await receiver.request({ type: 'accept', listenerId: listener.id, offer });
  await listener.answer(reply.answer!);
  await waitConnected(listener, 20_000);
  return listener;
}

/** Asks the sender to mark frame `start` and notify `frames`; resolves with what `read` returned at each. */
async function around<T>(sender: Generator, start: number, frames: number[], read: () => T): Promise<Map<number, T>> {
  const marks = new Map<number, T>();
  await new Promise<void>((resolve) => {
    sender.onReached = (f) => {
      marks.set(f, read());
      if (frames.every((x) => marks.has(x))) resolve();
    };
    sender.send({ type: 'notify', frames, mark: [start] });
  });
  sender.onReached = () => undefined;
  return marks;
}

/** Tells the receivers a window of `frames` frames starting half a second ahead (its first frame marked). */
async function announceWindow(sender: Generator, receiver: Generator, frames: number): Promise<{ start: number; end: number }> {
  const { frame: now } = await sender.request({ type: 'status' });
  const start = now! + 25;
  const end = start + frames;
  await receiver.request({ type: 'window', start: SEQ0 + start, end: SEQ0 + end });
  return { start, end };
}

/**
 * Lets every receiver learn each ssrc's sequence offset (from a marked packet) before a measured
 * window, so that one lost marked packet in the window cannot make a whole track look lost.
 */
async function calibrate(sender: Generator, receiver: Generator): Promise<void> {
  const { start } = await announceWindow(sender, receiver, 5);
  await around(sender, start, [start + 5], () => undefined);
  await sleep(200);
}

/** Measures one window: CPU of every task between the sender's first and last frame of it, and the receivers' counts. */
async function measureWindow(listeners: number, sender: Generator, receiver: Generator, media: MediaTask[], ingestPort: number, windowSeconds: number): Promise<StepResult> {
  const frames = windowSeconds * PACKETS_PER_SECOND;
  const { start, end } = await announceWindow(sender, receiver, frames);
  // This process' CPU less the media threads that live in it (mediasoup's ingest).
  const ownMedia = media.filter((t) => t.pid === process.pid && t.tid !== undefined);
  const bench = () => cpuSeconds({ pid: process.pid, label: 'bench' }) - ownMedia.reduce((x, t) => x + cpuSeconds(t), 0);
  const read = () => ({
    at: performance.now(),
    sfu: media.reduce((x, t) => x + cpuSeconds(t), 0),
    sched: media.map(threadSched),
    receiver: cpuSeconds({ pid: receiver.pid, label: 'receiver' }),
    sender: cpuSeconds({ pid: sender.pid, label: 'sender' }),
    bench: bench(),
    generatorWait: [receiver.pid, sender.pid, process.pid].reduce((x, pid) => x + threadSched({ pid, label: '' }).wait, 0),
    drops: udpDrops(ingestPort),
  });
  const marks = await around(sender, start, [start, end], read);
  await sleep(500); // the window's last packets are in flight
  const report = await receiver.request({ type: 'report' });
  const a = marks.get(start)!;
  const b = marks.get(end)!;
  const seconds = (b.at - a.at) / 1000;
  // The busiest media thread decides saturation.
  const busy = media.map((_, i) => ({ busy: (b.sched[i]!.run + b.sched[i]!.wait - a.sched[i]!.run - a.sched[i]!.wait) / seconds, wait: (b.sched[i]!.wait - a.sched[i]!.wait) / seconds }));
  const busiest = busy.reduce((x, y) => (y.busy > x.busy ? y : x));
  const consumers = listeners * SPEAKERS;
  const received = (report.listeners ?? []).reduce((n: number, l: ListenerReport) => n + l.counts.reduce((t, [, c]) => t + Math.min(c, frames), 0), 0);
  const expected = consumers * frames;
  return {
    listeners,
    consumers,
    expected,
    received,
    loss: 1 - received / expected,
    rate: consumers * PACKETS_PER_SECOND,
    seconds,
    sfuCpu: (b.sfu - a.sfu) / seconds,
    sfuBusy: busiest.busy,
    sfuWait: busiest.wait,
    ingestDrops: b.drops - a.drops,
    generatorWait: (b.generatorWait - a.generatorWait) / seconds,
    receiverCpu: (b.receiver - a.receiver) / seconds,
    senderCpu: (b.sender - a.sender) / seconds,
    parentCpu: Math.max(0, (b.bench - a.bench) / seconds), // a difference of two tick counts: can dip below 0
  };
}

const SEQ0 = 1000;

function describeStep(s: StepResult): string {
  const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
  return (
    `${s.listeners} listeners × ${SPEAKERS} speakers = ${s.consumers} consumers (${s.rate} pkt/s out): loss ${(s.loss * 100).toFixed(3)} % ` +
    `(${s.received}/${s.expected}, ingest socket drops ${s.ingestDrops}); SFU CPU ${pct(s.sfuCpu)}, busiest media thread busy ${pct(s.sfuBusy)} of which waiting for its core ${pct(s.sfuWait)}; ` +
    `generators: receivers ${pct(s.receiverCpu)}, sender ${pct(s.senderCpu)}, bench ${pct(s.parentCpu)}, waited ${pct(s.generatorWait)}; over ${s.seconds.toFixed(2)} s`
  );
}

/**
 * The SFU could not have done more in this window: one of its media threads was running or runnable
 * but waiting (its core taken by another process on a shared machine) nearly all the time.
 */
function saturated(s: StepResult): boolean {
  return (Number.isNaN(s.sfuBusy) ? s.sfuCpu : s.sfuBusy) >= SFU_SATURATED;
}

/** Least-squares line y = a + b·x. */
function fit(points: [number, number][]): { a: number; b: number } {
  const n = points.length;
  if (n === 1) return { a: 0, b: points[0]![1] / points[0]![0] };
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const b = sxx > 0 ? sxy / sxx : my / mx;
  return { a: my - b * mx, b };
}

async function runDriver(driver: SfuDriverName, factory: DriverFactory, plan: Plan, ctx: BenchContext): Promise<StepResult[]> {
  const t0 = performance.now();
  const { sfu, media } = await factory();
  let sender: Generator | undefined;
  let receiver: Generator | undefined;
  const steps: StepResult[] = [];
  try {
    if (canPin) {
      for (const t of media) {
        const ok = t.tid === undefined ? pin(t.pid, '0') : pinThread(t.tid, '0');
        if (!ok) ctx.log(`capacity: ${driver}: could not pin the ${t.label} (${t.tid ?? t.pid})`);
      }
    }
    ctx.log(`capacity: ${driver}: on core 0: ${media.map((t) => `${t.label} ${t.tid === undefined ? `pid ${t.pid}` : `tid ${t.tid}`}`).join(', ')}`);
    const router = await sfu.createRouter('bench-capacity');
    const ssrcs = Array.from({ length: SPEAKERS }, (_, i) => 0x5eed_0000 + i);
    const producers = await Promise.all(ssrcs.map((ssrc, i) => router.produce({ userId: `speaker-${i}`, ssrc, payloadType: 120 })));
    const producerIds = producers.map((p) => p.id);
    receiver = await Generator.start({ role: 'receive' });
    sender = await Generator.start({ role: 'send', host: sfu.ingest.host, port: sfu.ingest.port, ssrcs, payloadBytes: 160, payloadType: 120, seq0: SEQ0 });
    let listeners = 0;
    for (const target of plan.steps) {
      if (performance.now() - t0 > plan.budgetMs) {
        ctx.log(`capacity: ${driver}: time budget reached before ${target} listeners`);
        break;
      }
      while (listeners < target) {
        const batch = Math.min(5, target - listeners);
        await Promise.all(Array.from({ length: batch }, () => addListener(router, producerIds, receiver!)));
        listeners += batch;
      }
      await sleep(plan.settleMs);
      await calibrate(sender, receiver);
      let step = await measureWindow(listeners, sender, receiver, media, sfu.ingest.port, plan.windowSeconds);
      ctx.log(`capacity: ${driver}: ${describeStep(step)}`);
      if (step.loss >= LOSS_LIMIT || saturated(step)) {
        // Once more before giving up: on a shared machine a neighbour's burst can sink one window.
        step = await measureWindow(listeners, sender, receiver, media, sfu.ingest.port, plan.windowSeconds);
        ctx.log(`capacity: ${driver}: again: ${describeStep(step)}`);
      }
      steps.push(step);
      if (step.loss >= LOSS_LIMIT) {
        ctx.log(`capacity: ${driver}: loss ≥ ${LOSS_LIMIT * 100} % — stop`);
        break;
      }
      if (saturated(step)) {
        ctx.log(`capacity: ${driver}: the SFU is saturated (a media thread running or waiting for its core ≥ ${SFU_SATURATED * 100} % of the time) — stop`);
        break;
      }
      if (step.receiverCpu + step.senderCpu + step.parentCpu >= GENERATOR_LIMIT) {
        ctx.log(`capacity: ${driver}: the generators' core is at ${((step.receiverCpu + step.senderCpu + step.parentCpu) * 100).toFixed(0)} % — stop (they would be the limit)`);
        break;
      }
    }
  } finally {
    await Promise.all([sender?.stop(), receiver?.stop()]);
    await sfu.close();
  }
  return steps;
}

function rowsFor(driver: SfuDriverName, steps: StepResult[], log: (m: string) => void): BenchRow[] {
  // Sustained = under the loss limit (a saturated step that lost nothing still counts; the next one stops).
  const passing = steps.filter((s) => s.loss < LOSS_LIMIT);
  const best = passing.at(-1);
  const rows: BenchRow[] = [];
  const saturatedNote = steps.some((s) => s.loss >= LOSS_LIMIT || saturated(s)) ? 'limit reached' : 'limit not reached: a lower bound';
  rows.push({
    suite: 'capacity',
    name: `max consumers/core at <0.5% loss ${driver} (${SPEAKERS} speakers × L listeners, SFU pinned to one core; ${saturatedNote})`,
    unit: 'consumers',
    value: best?.consumers ?? 0,
    baseline: { name: ANCHORS[0].name, value: ANCHORS[0].value },
  });
  if (passing.length === 0) return rows;
  // SFU CPU (µs per second) against consumer-packets per second.
  let line = fit(passing.map((s) => [s.rate, s.sfuCpu * 1e6]));
  // Too few or too noisy points for a slope: the whole CPU of the largest step, per packet.
  if (!(line.b > 0)) line = { a: 0, b: (best!.sfuCpu * 1e6) / best!.rate };
  const usPerPacket = line.b;
  const perCore = Math.floor((1e6 - Math.max(0, line.a)) / (PACKETS_PER_SECOND * usPerPacket));
  log(`capacity: ${driver}: SFU CPU ≈ ${(Math.max(0, line.a) / 1e4).toFixed(1)} % fixed + ${usPerPacket.toFixed(1)} µs per consumer-packet (fit over ${passing.length} steps); largest passing step ${best!.consumers} consumers`);
  rows.push(
    {
      suite: 'capacity',
      name: `SFU CPU per consumer-packet ${driver} (slope of CPU over consumer-packets/s across the passing steps)`,
      unit: 'µs/packet',
      value: Math.round(usPerPacket * 100) / 100,
    },
    {
      suite: 'capacity',
      name: `SFU CPU per consumer ${driver} (50 pkt/s)`,
      unit: '% of a core',
      value: Math.round(usPerPacket * PACKETS_PER_SECOND * 1e-4 * 1000) / 1000,
    },
    {
      suite: 'capacity',
      name: `consumers/core from CPU cost ${driver} = (1e6 − fixed µs/s) / (50 × µs/packet)`,
      unit: 'consumers',
      value: perCore,
      baseline: { name: ANCHORS[1].name, value: ANCHORS[1].value },
    },
    {
      suite: 'capacity',
      name: `SFU waited for its core (other processes on core 0; busiest media thread) at the largest passing step ${driver}`,
      unit: '% of the time',
      value: Math.round(best!.sfuWait * 1000) / 10,
    },
    {
      suite: 'capacity',
      name: `generator CPU at the largest passing step ${driver} (light receivers + RTP sender + bench, core 1)`,
      unit: '% of a core',
      value: Math.round((best!.receiverCpu + best!.senderCpu + best!.parentCpu) * 1000) / 10,
      baseline: { name: `SFU CPU at the same step`, value: Math.round(best!.sfuCpu * 1000) / 10 },
    },
  );
  return rows;
}

const suite: BenchSuite = {
  name: 'capacity',
  description: 'consumers (listeners × speakers) one SFU core sustains with < 0.5 % loss; SFU pinned to core 0, generators to core 1',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    if (!canPin) ctx.log('capacity: taskset or a second core is missing; nothing is pinned and "per core" is only nominal');
    const plan = planFor(ctx.quick);
    // This process (signalling, IPC with the SFU) shares core 1 with the generators; its mask is put back afterwards.
    return withAffinity(canPin ? '1' : '0', async () => {
      const rows: BenchRow[] = [];
      for (const [driver, make] of Object.entries(DRIVERS) as [SfuDriverName, () => DriverFactory | string][]) {
        const factory = make();
        if (typeof factory === 'string') {
          ctx.log(`capacity: ${driver}: skipped — ${factory}`);
          continue;
        }
        ctx.log(`capacity: ${driver}: ${SPEAKERS} speakers, listeners ${plan.steps.join(', ')}, ${plan.windowSeconds} s windows`);
        rows.push(...rowsFor(driver, await runDriver(driver, factory, plan, ctx), ctx.log));
      }
      for (const a of ANCHORS) rows.push({ suite: 'capacity', name: a.name, unit: 'consumers/core', value: a.value });
      return rows;
    });
  },
};

export default suite;
