/**
 * Fuzz test of the bus hub (issue "Foundation"): ≥ 100,000 mutated frames over ONE persistent
 * connection to a hub running in its own process, interleaved with valid envelopes. Every mutation
 * is invalid by construction and the generator knows which error code it must get, so the oracle is
 * the generator, not the hub's own validator. Checks: the connection stays open; one `error` reply
 * per invalid frame, with the expected code, in order; every valid envelope reaches the subscriber,
 * in order, byte-identical; the hub's memory (rss from /metrics) stays bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { encodeFrame, makeEnvelope } from '@promethean/shared';
import { seededRandom } from './support/prng.ts';

const INVALID_TARGET = 100_000;
const VALID_EVERY = 4; // one valid envelope after every 4 invalid frames
const MAX_FRAME = 64 * 1024;
const WINDOW = 512;
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed1234);

/** mulberry32: a small seeded PRNG so a failure can be replayed with FUZZ_SEED. */
const rand = seededRandom(SEED);
const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

type Code = 'malformed_json' | 'bad_frame' | 'schema' | 'topic_mismatch' | 'bad_topic' | 'oversize';
/** A frame to send: bytes or text, and whether it is text even when given as bytes. */
interface Frame {
  data: string | Uint8Array;
  text: boolean;
}

const OPTS = { src: 'fuzz', provider: 'fuzz', tenant: 't1' };
let noteSeq = 0;
function validEnvelope(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...makeEnvelope('fuzz.note', { n: noteSeq++, s: 'x'.repeat(int(0, 64)) }, OPTS), ...extra };
}
const u32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, false);
  return b;
};
const concat = (...parts: Uint8Array[]): Uint8Array => Buffer.concat(parts);
const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');
/** A binary frame with a hand-written header (attachment sizes may lie). */
const rawFrame = (header: string, body: Uint8Array): Uint8Array => concat(u32(Buffer.byteLength(header)), utf8(header), body);
const randomBytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(0, 255));

const REQUIRED = ['id', 'ts', 'src', 'dst', 'provider', 'tenant', 'intent'] as const;
const WRONG_TYPES: [string, unknown][] = [
  ['id', 123], ['id', 'not-a-uuid'], ['ts', true], ['ts', '2026-01-01'], ['src', null], ['src', ''], ['provider', 5],
  ['provider', 'Upper'], ['tenant', []], ['intent', {}], ['intent', 'bad intent'], ['dst', 7], ['corr', 5], ['trace', 'x'],
  ['attachments', 'no'], ['models', [{}]], ['auth', { sub: 1 }],
];
const BAD_DSTS = ['promethean.p.fuzz.t.t1.*', 'promethean.p.fuzz.t.t1.>', 'a.b', '', 'promethean.p..t.t1.x', 'promethean.p.fuzz.t.t1', 'x'.repeat(300), 'promethean.p.fuzz.t.t1.fuzz note'];

/** Mutations, each with the error code its construction guarantees. */
const MUTATIONS: [Code, () => Frame][] = [
  ['malformed_json', () => { const s = JSON.stringify(validEnvelope()); return { data: s.slice(0, int(0, s.length - 1)), text: true }; }],
  ['malformed_json', () => { const b = Buffer.from(JSON.stringify(validEnvelope())); const at = int(0, b.length); return { data: concat(b.subarray(0, at), Uint8Array.of(pick([0xff, 0xfe, 0xc0, 0xc1, 0xf8])), b.subarray(at)), text: true }; }],
  ['malformed_json', () => { const s = JSON.stringify(validEnvelope()); return { data: pick(['[', 'x', '}', '"', ',']) + s.slice(1), text: true }; }],
  ['malformed_json', () => { const s = JSON.stringify(validEnvelope()); return { data: s.slice(0, -1) + pick([',', ']', '', '{', ':']), text: true }; }],
  ['malformed_json', () => ({ data: concat(Uint8Array.of(0xff), randomBytes(int(0, 200))), text: true })],
  ['malformed_json', () => { const h = JSON.stringify(validEnvelope()); const cut = h.slice(0, int(1, h.length - 1)); return { data: rawFrame(cut, new Uint8Array(0)), text: false }; }],
  ['schema', () => { const e = validEnvelope(); delete e[pick(REQUIRED)]; return { data: JSON.stringify(e), text: true }; }],
  ['schema', () => { const [k, v] = pick(WRONG_TYPES); return { data: JSON.stringify(validEnvelope({ [k]: v })), text: true }; }],
  ['schema', () => ({ data: JSON.stringify(validEnvelope({ [pick(['extra', 'op_', 'Id', 'payload2'])]: 1 })), text: true })],
  ['schema', () => ({ data: JSON.stringify({ ...makeEnvelope('voice.control.leave', { guild_id: pick([5, '', null]) } as never, OPTS) }), text: true })],
  ['schema', () => ({ data: pick(['123', 'null', '"str"', '[]', 'true', '[{"op":"subscribe"}]', '{"op":"publish","pattern":"a"}', '{"op":"subscribe","pattern":5}']), text: true })],
  ['schema', () => ({ data: rawFrame(pick(['123', 'null', '"x"', '[1]']), new Uint8Array(0)), text: false })],
  ['bad_topic', () => ({ data: JSON.stringify(validEnvelope({ dst: pick(BAD_DSTS) })), text: true })],
  ['bad_topic', () => ({ data: JSON.stringify({ op: 'subscribe', pattern: pick(['a.>.b', '', 'a..b', 'a b', 'x'.repeat(300)]), ref: 'f' }), text: true })],
  ['topic_mismatch', () => ({ data: JSON.stringify(validEnvelope({ dst: pick(['promethean.p.fuzz.t.t2.fuzz.note', 'promethean.p.other.t.t1.fuzz.note', 'promethean.p.fuzz.t.t1.fuzz.other']) })), text: true })],
  ['oversize', () => ({ data: JSON.stringify(validEnvelope({ payload: { pad: 'p'.repeat(MAX_FRAME + int(1, 4096)) } })), text: true })],
  ['oversize', () => ({ data: concat(u32(10), randomBytes(MAX_FRAME + int(1, 4096))), text: false })],
  ['bad_frame', () => ({ data: randomBytes(int(0, 3)), text: false })],
  ['bad_frame', () => ({ data: concat(u32(0), randomBytes(int(0, 100))), text: false })],
  ['bad_frame', () => { const body = randomBytes(int(0, 500)); return { data: concat(u32(body.length + int(1, 1 << 30)), body), text: false }; }],
  ['bad_frame', () => { const n = int(1, 500); const lie = pick([n + int(1, 100), Math.max(0, n - int(1, n))]); return { data: rawFrame(JSON.stringify(validEnvelope({ attachments: [{ bytes: lie }] })), randomBytes(n)), text: false }; }],
  ['bad_frame', () => ({ data: rawFrame(JSON.stringify(validEnvelope({ attachments: [{ bytes: pick([-1, 1.5, '3', null]) }] })), new Uint8Array(3)), text: false })],
  ['bad_frame', () => ({ data: JSON.stringify(validEnvelope({ attachments: [{ bytes: int(1, 100) }] })), text: true })],
];
// Oversize frames are big; keep them rare so the run stays short.
const WEIGHTS = MUTATIONS.map(([code]) => (code === 'oversize' ? 0.05 : 1));
const TOTAL_WEIGHT = WEIGHTS.reduce((a, b) => a + b, 0);
function pickMutation(): [Code, () => Frame] {
  let r = rand() * TOTAL_WEIGHT;
  for (let i = 0; i < MUTATIONS.length; i++) if ((r -= WEIGHTS[i]!) < 0) return MUTATIONS[i]!;
  return MUTATIONS[0]!;
}

interface HubChild {
  proc: ChildProcess;
  url: string;
  httpUrl: string;
  key: string;
  dataDir: string;
}

async function startHubChild(): Promise<HubChild> {
  const dataDir = await mkdtemp(join(tmpdir(), 'promethean-fuzz-'));
  const script = join(import.meta.dirname, '..', 'server', 'src', 'hub', 'run-child.ts');
  // Node strips the TypeScript itself where it can (22.18+); tsx otherwise.
  const tsFlags = (process.features as { typescript?: unknown }).typescript ? [] : ['--import', 'tsx'];
  const proc = spawn(process.execPath, [...tsFlags, '--expose-gc', script, JSON.stringify({ dataDir, maxFrameBytes: MAX_FRAME, writeRuntimeFile: false })], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`hub child exited with ${code}`)));
  });
  const info = JSON.parse(line) as { url: string; httpUrl: string; keyFile: string };
  const key = (await readFile(info.keyFile, 'utf8')).trim();
  return { proc, url: info.url, httpUrl: info.httpUrl, key, dataDir };
}

interface Metrics {
  rss_bytes: number;
  heap_used_bytes: number;
  connections: number;
  max_queue_depth: number;
  errors: Record<string, number>;
  published: number;
}

/** The hub's /metrics after a full GC in the child (SIGUSR2 under --expose-gc). */
async function metricsAfterGc(hub: HubChild): Promise<Metrics> {
  hub.proc.kill('SIGUSR2');
  await new Promise((r) => setTimeout(r, 300));
  const res = await fetch(`${hub.httpUrl}/metrics`, { headers: { authorization: `Bearer ${hub.key}` } });
  return (await res.json()) as Metrics;
}
const mib = (n: number): string => (n / 2 ** 20).toFixed(1);

function open(url: string, key: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${key}` } });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

let hub: HubChild;
beforeAll(async () => {
  hub = await startHubChild();
});
afterAll(async () => {
  hub?.proc.kill('SIGTERM');
  if (hub) await rm(hub.dataDir, { recursive: true, force: true });
});

describe('hub fuzz', () => {
  it(`answers ${INVALID_TARGET} mutated frames with one typed error each over one connection, delivers every valid envelope in order, and keeps memory bounded`, async () => {
    const sub = await open(hub.url, hub.key);
    const pub = await open(hub.url, hub.key);
    let pubClosed = false;
    pub.on('close', () => (pubClosed = true));

    // Subscriber: records the sequence number (corr) of every delivered envelope and checks bytes.
    const delivered: number[] = [];
    const expectedBytes = new Map<number, Buffer>();
    let mismatched = 0;
    let acked = false;
    sub.on('message', (data: Buffer, binary: boolean) => {
      if (!acked) {
        acked = true;
        return;
      }
      const header = binary ? data.subarray(4, 4 + data.readUInt32BE(0)).toString() : data.toString();
      const seq = Number((JSON.parse(header) as { corr?: string }).corr);
      delivered.push(seq);
      const want = expectedBytes.get(seq);
      if (!want || !want.equals(data)) mismatched++;
      expectedBytes.delete(seq);
      wake();
    });
    sub.send(JSON.stringify({ op: 'subscribe', pattern: 'promethean.>', ref: 's' }));
    while (!acked) await new Promise((r) => setTimeout(r, 5));

    // Publisher connection: every reply must be an error envelope, one per invalid frame, in order.
    const replies: string[] = [];
    pub.on('message', (data: Buffer) => {
      const env = JSON.parse(data.toString()) as { intent: string; payload: { code: string } };
      replies.push(env.intent === 'error' ? env.payload.code : `not-an-error:${env.intent}`);
      wake();
    });
    let waiter: (() => void) | undefined;
    const wake = (): void => {
      const w = waiter;
      waiter = undefined;
      w?.();
    };

    const expectedCodes: Code[] = [];
    let validSent = 0;
    let sent = 0;
    const outstanding = () => sent - replies.length - delivered.length;
    const sendValid = (): void => {
      const seq = validSent++;
      const env = validEnvelope({ corr: String(seq) });
      let data: Uint8Array | string;
      if (rand() < 0.5) data = JSON.stringify(env);
      else data = encodeFrame(env, Array.from({ length: int(1, 2) }, () => Uint8Array.from({ length: int(0, 1920) }, (_, i) => (i + seq) & 0xff)));
      expectedBytes.set(seq, Buffer.from(data));
      pub.send(data);
      sent++;
    };
    const sendInvalid = (): void => {
      const [code, make] = pickMutation();
      const f = make();
      expectedCodes.push(code);
      pub.send(f.data, { binary: !f.text });
      sent++;
    };

    const runFrames = async (invalidCount: number): Promise<void> => {
      let invalid = 0;
      while (invalid < invalidCount) {
        while (outstanding() < WINDOW && invalid < invalidCount) {
          sendInvalid();
          invalid++;
          if (invalid % VALID_EVERY === 0) sendValid();
        }
        await new Promise<void>((r) => (waiter = r));
      }
      while (outstanding() > 0) await new Promise<void>((r) => (waiter = r));
    };

    const started = Date.now();
    await runFrames(2_000); // warm-up: JIT, buffers, the route cache
    const before = await metricsAfterGc(hub);
    await runFrames(49_000);
    const middle = await metricsAfterGc(hub);
    await runFrames(49_000);
    const after = await metricsAfterGc(hub);
    const seconds = (Date.now() - started) / 1000;

    const counts: Record<string, number> = {};
    for (const c of expectedCodes) counts[c] = (counts[c] ?? 0) + 1;
    console.log(`[hub-fuzz] seed=${SEED} frames=${sent} invalid=${expectedCodes.length} valid=${validSent} errors=${replies.length} ` +
      `by code=${JSON.stringify(counts)} rss before/middle/after=${mib(before.rss_bytes)}/${mib(middle.rss_bytes)}/${mib(after.rss_bytes)} MiB ` +
      `heap after GC before/middle/after=${mib(before.heap_used_bytes)}/${mib(middle.heap_used_bytes)}/${mib(after.heap_used_bytes)} MiB ` +
      `max_queue_depth=${after.max_queue_depth} in ${seconds.toFixed(1)} s`);

    expect(expectedCodes.length).toBe(INVALID_TARGET);
    expect(pubClosed).toBe(false);
    expect(pub.readyState).toBe(WebSocket.OPEN);
    expect(after.connections).toBe(2);
    // One error per invalid frame, with the code its construction guarantees, in order.
    expect(replies.length).toBe(expectedCodes.length);
    const firstWrong = replies.findIndex((code, i) => code !== expectedCodes[i]);
    expect(firstWrong === -1 ? 'all match' : `#${firstWrong}: got ${replies[firstWrong]}, expected ${expectedCodes[firstWrong]}`).toBe('all match');
    expect(after.errors).toEqual(counts);
    // Every valid envelope delivered once, in order, byte-identical; nothing invalid delivered.
    expect(delivered.length).toBe(validSent);
    expect(delivered.every((seq, i) => seq === i)).toBe(true);
    expect(mismatched).toBe(0);
    expect(after.published).toBe(validSent);
    // Bounded memory: the live heap (after a full GC) does not grow with the number of frames, and
    // rss levels off (the allocator's working set is reached in the first half, not the second).
    expect(after.heap_used_bytes - before.heap_used_bytes).toBeLessThan(8 * 2 ** 20);
    expect(after.heap_used_bytes - middle.heap_used_bytes).toBeLessThan(4 * 2 ** 20);
    expect(after.rss_bytes - middle.rss_bytes).toBeLessThan(32 * 2 ** 20);
    expect(after.rss_bytes).toBeLessThan(before.rss_bytes + 128 * 2 ** 20);
    sub.terminate();
    pub.terminate();
  }, 120_000);
});
