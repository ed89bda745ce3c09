/**
 * Load generator for `promethean bench bus` (runs pinned to its own core): one publisher and N
 * subscribers over `ws`, all in this process so one clock times publish → delivery.
 * Argument: JSON `LoadSpec`. Prints one JSON `LoadResult` line.
 *
 * - `throughput`: the publisher keeps at most `window` envelopes ahead of the slowest subscriber;
 *   the result counts deliveries (summed over subscribers) per second after a warm-up.
 * - `latency`: the publisher sends at a fixed `rate` per second (paced by a 1 ms timer, so in
 *   bursts of rate/1000); every delivery's latency goes into p50/p99. Publisher and subscribers share
 *   this process, so both ends read the same monotonic clock (`performance.now()`): each message is
 *   stamped just before its `send()`, each delivery when its `message` event runs, matched by the
 *   envelope's `corr` sequence number. Timestamps live in preallocated typed arrays so the generator
 *   makes no garbage of its own while measuring; its event-loop delay and GC pauses are reported
 *   so a tail caused by the generator itself is visible.
 */
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { WebSocket } from 'ws';

export interface LoadSpec {
  url: string;
  token?: string;
  mode: 'throughput' | 'latency';
  subscribers: number;
  /** `control`: a small validated JSON envelope; `pcm`: a 20 ms PCM frame (1920 B) as a binary attachment. */
  kind: 'control' | 'pcm';
  warmupMs: number;
  durationMs: number;
  window?: number;
  rate?: number;
}

export interface LoadResult {
  /** Deliveries per second (summed over subscribers) in the measured interval. */
  deliveriesPerSec: number;
  /** Envelopes published per second in the measured interval. */
  publishedPerSec: number;
  p50Ms?: number;
  p99Ms?: number;
  /** Deliveries that never arrived (latency mode; dropped by a bounded queue). */
  lost: number;
  /** Latency mode: this process's own event-loop delay p99 and longest GC pause while measuring (ms). */
  loopDelayP99Ms?: number;
  gcMaxMs?: number;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
const TOPIC_PREFIX = 'promethean.p.bench.t.demo.';
const ID = '019a0000-0000-7000-8000-000000000000';
const TS = new Date().toISOString();
const PCM = Buffer.alloc(1920, 7);

/** Builds message `seq`: text JSON, or a binary frame with one PCM attachment. */
function message(seq: number): string | Buffer {
  if (spec.kind === 'control') {
    return `{"id":"${ID}","ts":"${TS}","src":"bench","dst":"${TOPIC_PREFIX}voice.control.set-bitrate","provider":"bench","tenant":"demo","intent":"voice.control.set-bitrate","payload":{"session_id":"s1","bitrate":64000},"corr":"${seq}"}`;
  }
  const header = Buffer.from(
    `{"id":"${ID}","ts":"${TS}","src":"bench","dst":"${TOPIC_PREFIX}voice.audio.pcm","provider":"bench","tenant":"demo","intent":"voice.audio.pcm",` +
      `"payload":{"session_id":"s1","user_id":"u1","ts_monotonic_ns":"${seq * 20_000_000}","format":{"rate_hz":48000,"channels":1,"codec":"pcm_s16le"},"rtp":{"ssrc":1,"seq":${seq & 0xffff},"timestamp":${(seq * 960) % 4294967296}},"attachment":0},` +
      `"corr":"${seq}","attachments":[{"bytes":1920}]}`,
  );
  const out = Buffer.allocUnsafe(4 + header.length + PCM.length);
  out.writeUInt32BE(header.length, 0);
  header.copy(out, 4);
  PCM.copy(out, 4 + header.length);
  return out;
}

const CORR = Buffer.from('"corr":"');
function seqOf(data: Buffer): number {
  let i = data.indexOf(CORR) + CORR.length;
  let n = 0;
  for (let c = data[i]!; c >= 48 && c <= 57; c = data[++i]!) n = n * 10 + (c - 48);
  return n;
}

/**
 * Messages are built before the clock starts so the generator spends its core on sockets, not on
 * building frames, and makes no garbage whose collection would pause deliveries in flight (the
 * servers see the same bytes either way). Throughput mode reuses a ring of 1,024; latency mode
 * needs a distinct `corr` per message and builds every one it will send (at 5,000/s for 5 s:
 * about 30,000, 75 MB with PCM).
 */
const rate = spec.rate ?? 5000;
const capacity = spec.mode === 'latency' ? Math.ceil((rate * (spec.warmupMs + spec.durationMs)) / 1000) + rate : 0;
const RING = Array.from({ length: spec.mode === 'throughput' ? 1024 : capacity }, (_, i) => message(i));
const next = (seq: number): string | Buffer => (spec.mode === 'throughput' ? RING[seq & 1023]! : RING[seq]!);

function open(): Promise<WebSocket> {
  const url = new URL(spec.url);
  // An all-zero mask lets the client skip masking its payloads (RFC 6455 allows any mask value);
  // it saves the generator a copy per frame and costs the servers the same as a random mask.
  const ws = new WebSocket(url, { generateMask: (mask) => mask.fill(0), ...(spec.token ? { headers: { authorization: `Bearer ${spec.token}` } } : {}) });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function subscribe(ws: WebSocket): Promise<void> {
  await new Promise<void>((resolve) => {
    ws.once('message', () => resolve());
    ws.send(JSON.stringify({ op: 'subscribe', pattern: `${TOPIC_PREFIX}>`, ref: 'bench' }));
  });
}

const pub = await open();
const subs = await Promise.all(Array.from({ length: spec.subscribers }, open));
for (const s of subs) await subscribe(s);
pub.on('message', (data: Buffer) => process.stderr.write(`bench load: publisher got ${data.toString().slice(0, 300)}\n`));

const received = new Array<number>(subs.length).fill(0);
/** Latency mode: send time of each sequence number, and one latency per measured delivery. */
const sentAt = new Float64Array(capacity);
const latencies = new Float64Array(capacity * subs.length);
let measured = 0;
let measuring = false;
/**
 * Latency mode: the sequence numbers whose deliveries are measured, [measureFrom, measureTo). The
 * warm-up records too (then starts over), so measuring runs the code the warm-up already optimised.
 */
let measureFrom = 0;
let measureTo = Number.POSITIVE_INFINITY;
let wake: (() => void) | undefined;
// Never wait forever for a delivery that a bounded queue dropped.
const nudge = setInterval(() => wake?.(), 100);
subs.forEach((s, i) => {
  s.on('message', (data: Buffer) => {
    const now = performance.now();
    received[i]!++;
    if (spec.mode === 'latency') {
      const seq = seqOf(data);
      if (seq >= measureFrom && seq < measureTo) latencies[measured++] = now - sentAt[seq]!;
    }
    if (wake) {
      const w = wake;
      wake = undefined;
      w();
    }
  });
});
const totalReceived = (): number => received.reduce((a, b) => a + b, 0);
const minReceived = (): number => Math.min(...received);

let sent = 0;
const result: LoadResult = { deliveriesPerSec: 0, publishedPerSec: 0, lost: 0 };

if (spec.mode === 'throughput') {
  const window = spec.window ?? 256;
  const end = performance.now() + spec.warmupMs + spec.durationMs;
  let t0 = 0;
  let r0 = 0;
  let s0 = 0;
  while (performance.now() < end) {
    while (sent - minReceived() < window) pub.send(next(sent++));
    await new Promise<void>((r) => (wake = r));
    if (!measuring && performance.now() >= end - spec.durationMs) {
      measuring = true;
      t0 = performance.now();
      r0 = totalReceived();
      s0 = sent;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  result.deliveriesPerSec = (totalReceived() - r0) / seconds;
  result.publishedPerSec = (sent - s0) / seconds;
} else {
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  let gcMaxMs = 0;
  const gcObserver = new PerformanceObserver((list) => {
    if (measuring && measureTo === Number.POSITIVE_INFINITY) for (const e of list.getEntries()) gcMaxMs = Math.max(gcMaxMs, e.duration);
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - start;
      if (elapsed >= spec.warmupMs + spec.durationMs) {
        clearInterval(timer);
        resolve();
        return;
      }
      if (!measuring && elapsed >= spec.warmupMs) {
        measuring = true;
        measureFrom = sent;
        measured = 0;
        loopDelay.enable();
      }
      const due = Math.min(capacity, Math.floor((elapsed / 1000) * rate));
      while (sent < due) {
        sentAt[sent] = performance.now();
        pub.send(next(sent++));
      }
    }, 1);
  });
  measureTo = sent;
  loopDelay.disable();
  // Let the last deliveries arrive.
  await new Promise((r) => setTimeout(r, 500));
  gcObserver.disconnect();
  const expected = (measureTo - measureFrom) * subs.length;
  const sorted = latencies.subarray(0, measured).sort();
  const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
  result.p50Ms = q(0.5);
  result.p99Ms = q(0.99);
  result.deliveriesPerSec = measured / (spec.durationMs / 1000);
  result.publishedPerSec = (measureTo - measureFrom) / (spec.durationMs / 1000);
  result.lost = Math.max(0, expected - measured);
  result.loopDelayP99Ms = loopDelay.percentile(99) / 1e6;
  result.gcMaxMs = gcMaxMs;
}

clearInterval(nudge);
process.stdout.write(`${JSON.stringify(result)}\n`);
for (const s of [pub, ...subs]) s.terminate();
process.exit(0);
