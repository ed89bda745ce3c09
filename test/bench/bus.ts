/**
 * `promethean bench bus`: the embedded hub against a plain `ws` relay of the same frames (the floor:
 * no validation, auth, routing or queues), measured side by side in the same run. The relay batches
 * socket writes the way the hub does (bus-relay.child.ts), so the ratio is the price of validated
 * routing, not of a different I/O strategy.
 *
 * The server under test runs in its own process pinned to core 0 and the load generator
 * (bus-load.child.ts: one publisher and N subscribers) in another pinned to core 1, when `taskset`
 * exists and there are two cores. Rows (each with the relay's value as its baseline):
 * - `publish-1sub`: envelopes validated and routed per second to one subscriber (flow-controlled);
 * - `fanout-10sub`: deliveries per second with 10 subscribers;
 * - `latency-10sub-5k`: publish → delivery p50 / p99 in ms at a fixed 5,000 envelopes/s, 10 subscribers
 *   (one process sends and receives, so both timestamps come from one monotonic clock; the relay's
 *   p99 is printed in the baseline's name, and the generator's own event-loop delay and GC pauses in
 *   the progress log, because on a shared machine they, not the server, set most of the tail);
 * and the same three with 20 ms PCM frames (1920 bytes) as binary attachments (`-pcm`).
 * Every value is the median of 5 repetitions (1 with `--quick`), hub and relay back to back, the
 * order swapped every repetition so neither side always runs on a warmer (or noisier) machine. On a
 * shared two-core machine single runs of the same server differ by ±15%, so fewer repetitions let
 * one noisy run decide the row.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { BenchContext, BenchRow, BenchSuite } from './types.ts';
import type { LoadResult, LoadSpec } from './bus-load.child.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const HUB_CHILD = join(HERE, '..', '..', 'server', 'src', 'hub', 'run-child.ts');
const RELAY_CHILD = join(HERE, 'bus-relay.child.ts');
const LOAD_CHILD = join(HERE, 'bus-load.child.ts');

const canPin = availableParallelism() >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
/** Node flags for a child that runs TypeScript: native type stripping where there is, tsx otherwise. */
const tsFlags = (process.features as { typescript?: unknown }).typescript ? [] : ['--import', 'tsx'];

function command(cpu: number, script: string, args: string[], nodeFlags: string[] = []): [string, string[]] {
  const node = [...tsFlags, ...nodeFlags, script, ...args];
  return canPin ? ['taskset', ['-c', String(cpu), process.execPath, ...node]] : [process.execPath, node];
}

interface Server {
  url: string;
  token?: string;
  stop(): Promise<void>;
}

async function startChild(cpu: number, script: string, args: string[]): Promise<{ proc: ChildProcess; info: Record<string, string> }> {
  const [cmd, argv] = command(cpu, script, args);
  const proc = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code} before listening`)));
    proc.once('error', reject);
  });
  return { proc, info: JSON.parse(line) as Record<string, string> };
}

function stopper(proc: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.stdin?.end();
      setTimeout(() => proc.kill('SIGKILL'), 3000).unref();
    });
}

async function startHub(): Promise<Server> {
  const dataDir = await mkdtemp(join(tmpdir(), 'promethean-bench-'));
  const { proc, info } = await startChild(0, HUB_CHILD, [JSON.stringify({ dataDir, writeRuntimeFile: false })]);
  const token = (await readFile(info.keyFile!, 'utf8')).trim();
  const stop = stopper(proc);
  return {
    url: info.url!,
    token,
    async stop() {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function startRelay(): Promise<Server> {
  const { proc, info } = await startChild(0, RELAY_CHILD, []);
  return { url: info.url!, stop: stopper(proc) };
}

async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  // A larger young generation makes the generator's own scavenges (each a pause that would show up
  // as latency of whatever is in flight) rare; it is the instrument, not the system under test.
  const [cmd, argv] = command(1, LOAD_CHILD, [JSON.stringify(spec)], ['--max-semi-space-size=64']);
  const proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  if (code !== 0) throw new Error(`bench load generator exited with ${code}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as LoadResult;
}

interface Scenario {
  row: string;
  unit: string;
  spec: Omit<LoadSpec, 'url' | 'token' | 'warmupMs' | 'durationMs'>;
  latency: boolean;
}

const SCENARIOS: Scenario[] = (['control', 'pcm'] as const).flatMap((kind) => {
  const suffix = kind === 'pcm' ? '-pcm' : '';
  return [
    { row: `publish-1sub${suffix}`, unit: 'msg/s', spec: { mode: 'throughput', subscribers: 1, kind, window: 256 }, latency: false },
    { row: `fanout-10sub${suffix}`, unit: 'deliveries/s', spec: { mode: 'throughput', subscribers: 10, kind, window: 128 }, latency: false },
    { row: `latency-10sub-5k${suffix}`, unit: 'ms', spec: { mode: 'latency', subscribers: 10, kind, rate: 5000 }, latency: true },
  ] satisfies Scenario[];
});

function median(values: number[]): number {
  const v = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** Median of each field over repetitions. */
function medianResult(results: LoadResult[]): LoadResult {
  const m = (f: (r: LoadResult) => number | undefined) => median(results.map((r) => f(r) ?? Number.NaN));
  const out: LoadResult = { deliveriesPerSec: m((r) => r.deliveriesPerSec), publishedPerSec: m((r) => r.publishedPerSec), lost: m((r) => r.lost) };
  if (results[0]?.p50Ms !== undefined) {
    out.p50Ms = m((r) => r.p50Ms);
    out.p99Ms = m((r) => r.p99Ms);
  }
  return out;
}

function describe(s: Scenario, r: LoadResult): string {
  if (!s.latency) return `${Math.round(r.deliveriesPerSec)} ${s.unit}`;
  return `p50 ${r.p50Ms?.toFixed(2)} ms p99 ${r.p99Ms?.toFixed(2)} ms lost ${r.lost} (generator: loop delay p99 ${r.loopDelayP99Ms?.toFixed(2)} ms, longest GC ${r.gcMaxMs?.toFixed(2)} ms)`;
}

const suite: BenchSuite = {
  name: 'bus',
  description: 'embedded hub vs a plain ws relay: publish-1sub, fanout-10sub, latency at 5k/s (JSON and 1920-byte PCM frames)',
  async run(ctx) {
    if (!canPin) ctx.log('bus: taskset or a second core is missing; server and load generator are not pinned');
    const timing = ctx.quick ? { warmupMs: 300, durationMs: 1000 } : { warmupMs: 1000, durationMs: 4000 };
    const reps = ctx.quick ? 1 : 5;
    // Both servers stay up (the idle one costs nothing); each scenario runs hub then relay back to
    // back, repeated, so a noisy neighbour affects both sides alike.
    const hub = await startHub();
    const relay = await startRelay().catch(async (e: unknown) => {
      await hub.stop();
      throw e;
    });
    const rows: BenchRow[] = [];
    try {
      for (const s of SCENARIOS) {
        const runs: Record<'hub' | 'relay', LoadResult[]> = { hub: [], relay: [] };
        for (let rep = 0; rep < reps; rep++) {
          const order = [['hub', hub], ['relay', relay]] as const;
          for (const [driver, server] of rep % 2 === 0 ? order : [...order].reverse()) {
            const spec: LoadSpec = { ...s.spec, ...timing, url: server.url };
            if (server.token) spec.token = server.token;
            const r = await runLoad(spec);
            runs[driver].push(r);
            ctx.log(`bus: ${s.row} ${driver === 'hub' ? 'hub' : 'ws-relay'} rep ${rep + 1}/${reps}: ${describe(s, r)}`);
          }
        }
        const h = medianResult(runs.hub);
        const r = medianResult(runs.relay);
        // Each repetition's hub and relay ran back to back: their ratio cancels what drifts slowly on
        // a shared machine (a neighbour's load), which the ratio of the two medians does not.
        const pick = (x: LoadResult): number => (s.latency ? x.p99Ms! : x.deliveriesPerSec);
        const paired = runs.hub.map((x, i) => pick(x) / pick(runs.relay[i]!));
        ctx.log(`bus: ${s.row} hub/relay ${s.latency ? 'p99' : 'throughput'} per repetition: ${paired.map((x) => x.toFixed(2)).join(' ')} (median ${median(paired).toFixed(2)})`);
        rows.push(
          s.latency
            ? {
                suite: 'bus',
                name: `${s.row} hub`,
                unit: s.unit,
                value: h.p50Ms!,
                p50: h.p50Ms!,
                p99: h.p99Ms!,
                baseline: { name: `${s.row} ws-relay p50 (its p99 ${r.p99Ms!.toFixed(2)} ms)`, value: r.p50Ms! },
              }
            : { suite: 'bus', name: `${s.row} hub`, unit: s.unit, value: h.deliveriesPerSec, baseline: { name: `${s.row} ws-relay`, value: r.deliveriesPerSec } },
        );
      }
    } finally {
      await Promise.all([hub.stop(), relay.stop()]);
    }
    return rows;
  },
};

export default suite;
