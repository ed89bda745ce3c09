/**
 * `receive` benchmark: the bridge's receive path on pre-encrypted packets (no encoder runs while
 * measuring; the process pins itself to one core with taskset when present).
 * Rows: relay (decrypt + hand-off), full (decrypt + jitter buffer + decode + publish frame), latency
 * from UDP arrival to relay hand-off and to PCM publish (playout delay excluded), each beside
 * @discordjs/voice's own receive stream on the same packets.
 *
 * Speakers per core follows the definition: the speakers one core sustains at 50 packets/s each
 * with zero drops, derived from the measured CPU cost per packet as 1e6 / (50 × µs/packet). Every run
 * checks that nothing was dropped: each packet relayed once, and (full) each published once, none
 * concealed, late or dropped by the publisher.
 */
import { createSocket } from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { VoiceReceiver, type VoiceConnection } from '@discordjs/voice';
import { encodeFrame, makeEnvelope } from '@promethean/shared';
import { buildRtpHeader, encryptRtpSize, audioLevelElement } from '@promethean/shared/providers/discord';
import { DatagramHandler, hrtimeClock, PcmFrameEncoder, PcmPublisher, PlayoutTimer, ReceiveSession } from '@promethean/bridge';
import type { PayloadOf } from '@promethean/shared';
import { affinityMask, setMask } from './affinity.ts';
import type { BenchContext, BenchRow, BenchSuite } from './types.ts';

const require = createRequire(import.meta.url);
const { OpusEncoder: RefOpus } = require('@discordjs/opus') as {
  OpusEncoder: new (rate: number, channels: number) => { encode(b: Buffer): Buffer; decode(b: Buffer): Buffer };
};

const KEY = new Uint8Array(randomBytes(32));
const MODE = 'aead_aes256_gcm_rtpsize' as const;
const PLAYOUT_MS = 60;
const NO_BACKLOG = { queued: 0, bufferedBytes: 0 };

interface Prepared {
  /** Per speaker, per frame: the encrypted datagram. */
  datagrams: Buffer[][];
  ssrcs: number[];
}

function prepare(speakers: number, frames: number): Prepared {
  const enc = new RefOpus(48000, 2);
  const opus: Buffer[] = [];
  for (let f = 0; f < frames; f++) {
    const pcm = new Int16Array(1920);
    for (let i = 0; i < 960; i++) {
      const t = (f * 960 + i) / 48000;
      const v = Math.round(8000 * (0.6 + 0.4 * Math.sin(2 * Math.PI * 3 * t)) * (Math.sin(2 * Math.PI * 180 * t) + 0.4 * Math.sin(2 * Math.PI * 900 * t)));
      pcm[2 * i] = v;
      pcm[2 * i + 1] = v;
    }
    opus.push(enc.encode(Buffer.from(pcm.buffer)));
  }
  const datagrams: Buffer[][] = [];
  const ssrcs: number[] = [];
  for (let s = 0; s < speakers; s++) {
    const ssrc = 1000 + s;
    ssrcs.push(ssrc);
    datagrams.push(
      opus.map((o, f) => {
        const { clear, extensionBody } = buildRtpHeader({ sequence: (s * 7919 + f) & 0xffff, timestamp: (f * 960) >>> 0, ssrc, extension: [audioLevelElement(30, true)] });
        const plain = new Uint8Array(extensionBody.byteLength + o.byteLength);
        plain.set(extensionBody);
        plain.set(o, extensionBody.byteLength);
        return Buffer.from(encryptRtpSize(MODE, KEY, clear, plain, f + 1));
      }),
    );
  }
  return { datagrams, ssrcs };
}

function pinToOneCore(ctx: BenchContext): void {
  try {
    execFileSync('taskset', ['-cp', '0', String(process.pid)], { stdio: 'ignore' });
    ctx.log('receive: pinned to core 0 with taskset');
  } catch {
    ctx.log('receive: taskset not available; not pinned');
  }
}

/**
 * How a full-path frame becomes bus bytes: `runtime` = the agent runtime's publish (makeEnvelope, then
 * encodeFrame: the fallback for a bus without `publishEncoded`); `spliced` = {@link PcmFrameEncoder}
 * (per-user JSON prefix, spliced seq/ts/id), what the running bridge does over the hub's bus client.
 */
type FrameSink = 'runtime' | 'spliced';

/**
 * Our path. `pcm` false = relay branch only. `decodeEvery` = k decodes one speaker in k (the others
 * relay only, as with `voice.audio.pcm.demand` leases for some speakers). Returns µs per packet.
 */
function runOurs(p: Prepared, pcm: false | FrameSink, decodeEvery = 1): number {
  let relayed = 0;
  let bytesOut = 0;
  let published = 0;
  let concealed = 0;
  let timing = true; // PLC after the last packet of the run (the talk-spurt's end) is expected
  const users = new Map(p.ssrcs.map((s) => [s, `user${s}`]));
  const decodedUsers = new Set(p.ssrcs.filter((_, i) => i % decodeEvery === 0).map((s) => `user${s}`));
  let nowNs = 0n;
  const encoder = new PcmFrameEncoder({ src: 'discord-voice-access', provider: 'discord', tenant: 'bench', sessionId: 'bench' });
  const send = pcm === 'spliced'
    ? (payload: PayloadOf<'voice.audio.pcm'>, pcmData: Uint8Array) => {
      bytesOut += encoder.encode(payload, pcmData).byteLength;
      if (payload.rtp.concealed) concealed += timing ? 1 : 0;
      else published++;
    }
    : (payload: PayloadOf<'voice.audio.pcm'>, pcmData: Uint8Array) => {
      const env = makeEnvelope('voice.audio.pcm', payload, { src: 'discord-voice-access', provider: 'discord', tenant: 'bench' });
      bytesOut += encodeFrame(env, [pcmData]).byteLength;
      if (payload.rtp.concealed) concealed += timing ? 1 : 0;
      else published++;
    };
  // rtp lost/jitter per frame, as VoiceSession supplies them
  const rtpExtra = (ssrc: number) => {
    const s = session.speakers.get(ssrc);
    return s ? { lost: s.stats.lost, jitter: s.stats.jitterMs } : undefined;
  };
  const publisher = new PcmPublisher('bench', send, () => NO_BACKLOG, rtpExtra, { capacity: 10_000 });
  const session = new ReceiveSession((s) => users.get(s), (f) => publisher.push(f), { pcm: pcm !== false, speaker: { jitter: { playoutDelayMs: PLAYOUT_MS } } });
  session.addRelay({ relay: (r) => (relayed += r.opus.byteLength > 0 ? 1 : 0) });
  // the playout timer VoiceSession wakes on every packet (its drains are driven by hand here)
  const timer = new PlayoutTimer(hrtimeClock, () => undefined, { backstopMs: 60_000 });
  if (pcm) session.onDue = (due) => timer.wake(due);
  if (decodeEvery > 1) session.demand = (userId) => decodedUsers.has(userId);
  const handler = new DatagramHandler(session, (s) => users.get(s));
  handler.setKeys({ mode: MODE, key: KEY });
  const frames = p.datagrams[0]!.length;
  const t0 = process.hrtime.bigint();
  for (let f = 0; f < frames; f++) {
    nowNs += 20_000_000n;
    for (const d of p.datagrams) handler.handle(d[f]!, nowNs);
    if (pcm) {
      session.tick(nowNs);
      publisher.drain();
    }
  }
  const elapsed = Number(process.hrtime.bigint() - t0) / 1000;
  const total = frames * p.datagrams.length;
  const totalPcm = frames * decodedUsers.size;
  timing = false;
  if (pcm) {
    // not timed: release what is still inside the playout delay, then check that nothing was lost
    for (let i = 0; i < 2 * Math.ceil(PLAYOUT_MS / 20) + 2; i++) {
      nowNs += 20_000_000n;
      session.tick(nowNs);
      publisher.drain();
    }
    const late = [...session.speakers.values()].reduce((n, s) => n + s.buffer.counters.late + s.buffer.counters.overflowed, 0);
    if (published !== totalPcm || concealed !== 0 || late !== 0 || publisher.dropped !== 0 || bytesOut === 0) {
      throw new Error(`full path dropped frames: published ${published}/${totalPcm}, concealed while timed ${concealed}, late/overflowed ${late}, publisher dropped ${publisher.dropped}`);
    }
  }
  timer.close();
  session.close();
  if (relayed !== total || handler.counters.decryptErrors !== 0) throw new Error(`relay saw ${relayed}/${total} packets (${handler.counters.decryptErrors} decrypt errors)`);
  return elapsed / total;
}

/**
 * @discordjs/voice's receiver: decrypt into an AudioReceiveStream per user; `decode` adds an Opus
 * decode per packet. Timed until every packet has come out of its stream (streams deliver later).
 */
async function runLibrary(p: Prepared, decode: boolean, decodeEvery = 1): Promise<number> {
  const receiver = new VoiceReceiver({ state: { status: 'connecting' } } as unknown as VoiceConnection);
  (receiver as unknown as { connectionData: object }).connectionData = { encryptionMode: MODE, secretKey: KEY, nonceBuffer: Buffer.alloc(12) };
  let packets = 0;
  const decoders = new Map<number, InstanceType<typeof RefOpus>>();
  p.ssrcs.forEach((ssrc, i) => {
    receiver.ssrcMap.update({ userId: `user${ssrc}`, audioSSRC: ssrc });
    const dec = new RefOpus(48000, 2);
    decoders.set(ssrc, dec);
    const stream = receiver.subscribe(`user${ssrc}`, { end: { behavior: 0 } } as never);
    const decodes = decode && i % decodeEvery === 0;
    stream.on('data', (chunk: Buffer) => {
      packets++;
      if (decodes) dec.decode(chunk);
    });
  });
  const onUdp = (receiver as unknown as { onUdpMessage(b: Buffer): void }).onUdpMessage.bind(receiver);
  const frames = p.datagrams[0]!.length;
  const t0 = process.hrtime.bigint();
  const total = frames * p.datagrams.length;
  for (let f = 0; f < frames; f++) {
    for (const d of p.datagrams) onUdp(d[f]!);
    if (f % 50 === 49) await new Promise((r) => setImmediate(r)); // let the streams flow, as the event loop would
  }
  while (packets < total) await new Promise((r) => setImmediate(r));
  const elapsed = Number(process.hrtime.bigint() - t0) / 1000;
  for (const s of receiver.subscriptions.values()) s.destroy();
  return elapsed / total;
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Real UDP on loopback, real timers: arrival → relay and arrival → PCM publish (minus the playout delay). */
async function runLatency(p: Prepared, seconds: number): Promise<Record<'relay' | 'pcm' | 'libRelay' | 'drainLate' | 'timerLate', number[]>> {
  const relay: number[] = [];
  const pcm: number[] = [];
  const users = new Map(p.ssrcs.map((s) => [s, `user${s}`]));
  const arrivals = new Map<string, bigint>();
  const publisher = new PcmPublisher('bench', (payload) => {
    const a = arrivals.get(`${payload.rtp.ssrc}:${payload.rtp.seq}`);
    if (a !== undefined && !payload.rtp.concealed) pcm.push(Number(process.hrtime.bigint() - a) / 1e6 - PLAYOUT_MS);
  }, () => NO_BACKLOG, () => undefined);
  const session = new ReceiveSession((s) => users.get(s), (f) => publisher.push(f), { speaker: { jitter: { playoutDelayMs: PLAYOUT_MS } } });
  session.addRelay({ relay: (r) => {
    relay.push(Number(process.hrtime.bigint() - r.arrivalNs) / 1e6);
    arrivals.set(`${r.ssrc}:${r.seq}`, r.arrivalNs);
  } });
  const handler = new DatagramHandler(session, (s) => users.get(s));
  handler.setKeys({ mode: MODE, key: KEY });
  const rx = createSocket('udp4');
  const tx = createSocket('udp4');
  rx.on('message', (m) => handler.handle(m, process.hrtime.bigint()));
  await new Promise<void>((r) => rx.bind(0, '127.0.0.1', () => r()));
  const port = rx.address().port;
  // drained as VoiceSession drains: a timer armed for the earliest due frame, the drain in the check phase
  const drainLate: number[] = [];
  const timer = new PlayoutTimer(hrtimeClock, () => {
    if (timer.lateNs !== undefined) drainLate.push(Number(timer.lateNs) / 1e6);
    const next = session.tick(hrtimeClock.now());
    publisher.drain();
    return next;
  });
  session.onDue = (due) => timer.wake(due);
  // library baseline on the same datagrams: arrival → data event of its receive stream
  const libRelay: number[] = [];
  const receiver = new VoiceReceiver({ state: { status: 'connecting' } } as unknown as VoiceConnection);
  (receiver as unknown as { connectionData: object }).connectionData = { encryptionMode: MODE, secretKey: KEY, nonceBuffer: Buffer.alloc(12) };
  let libArrival = 0n;
  for (const ssrc of p.ssrcs) {
    receiver.ssrcMap.update({ userId: `user${ssrc}`, audioSSRC: ssrc });
    receiver.subscribe(`user${ssrc}`, { end: { behavior: 0 } } as never).on('data', () => libRelay.push(Number(process.hrtime.bigint() - libArrival) / 1e6));
  }
  const libRx = createSocket('udp4');
  libRx.on('message', (m) => {
    libArrival = process.hrtime.bigint();
    (receiver as unknown as { onUdpMessage(b: Buffer): void }).onUdpMessage(m);
  });
  await new Promise<void>((r) => libRx.bind(0, '127.0.0.1', () => r()));
  const libPort = libRx.address().port;
  // control: a plain 20 ms setTimeout chain in the same process; its lateness is what the machine and
  // the event loop add to any timer (CPU contention, GC), with none of our code in it
  const timerLate: number[] = [];
  let controlDue = hrtimeClock.now() + 20_000_000n;
  let control: ReturnType<typeof setTimeout> | undefined;
  const onControl = () => {
    const now = hrtimeClock.now();
    timerLate.push(Number(now - controlDue) / 1e6);
    controlDue += 20_000_000n;
    control = setTimeout(onControl, Math.max(0, Math.ceil(Number(controlDue - now) / 1e6)));
  };
  control = setTimeout(onControl, 20);
  const frames = Math.min(p.datagrams[0]!.length, Math.round(seconds * 50));
  const start = performance.now();
  for (let f = 0; f < frames; f++) {
    const due = start + f * 20;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    for (const d of p.datagrams) {
      tx.send(d[f]!, port, '127.0.0.1');
      tx.send(d[f]!, libPort, '127.0.0.1');
    }
  }
  await new Promise((r) => setTimeout(r, PLAYOUT_MS + 200));
  timer.close();
  clearTimeout(control);
  rx.close();
  libRx.close();
  tx.close();
  session.close();
  for (const s of receiver.subscriptions.values()) s.destroy();
  const sorted = (a: number[]) => a.sort((x, y) => x - y);
  return { relay: sorted(relay), pcm: sorted(pcm), libRelay: sorted(libRelay), drainLate: sorted(drainLate), timerLate: sorted(timerLate) };
}

const suite: BenchSuite = {
  name: 'receive',
  description: 'bridge receive path: decrypt + relay hand-off, full PCM path, arrival latency; @discordjs/voice receive as baseline',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    // Pinned while it measures, and unpinned again afterwards: suites that run after it (bus,
    // latency, capacity) place their own processes and must not inherit core 0.
    const before = affinityMask(process.pid);
    try {
      return await measure(ctx);
    } finally {
      if (before !== undefined) setMask(process.pid, before);
    }
  },
};

async function measure(ctx: BenchContext): Promise<BenchRow[]> {
  {
    pinToOneCore(ctx);
    const speakers = ctx.quick ? 4 : 16;
    const frames = ctx.quick ? 250 : 1500;
    ctx.log(`receive: encoding ${frames} frames for ${speakers} speakers (not measured)`);
    const p = prepare(speakers, frames);
    runOurs(p, false); // warm-up
    await runLibrary(p, false);
    const relayUs = Math.min(runOurs(p, false), runOurs(p, false));
    const libUs = Math.min(await runLibrary(p, false), await runLibrary(p, false));
    runOurs(p, 'runtime');
    const fullUs = Math.min(runOurs(p, 'runtime'), runOurs(p, 'runtime'));
    runOurs(p, 'spliced');
    const splicedUs = Math.min(runOurs(p, 'spliced'), runOurs(p, 'spliced'));
    const libFullUs = Math.min(await runLibrary(p, true), await runLibrary(p, true));
    // decode on demand: PCM leased for one speaker in four, every speaker relayed
    runOurs(p, 'spliced', 4);
    const demandUs = Math.min(runOurs(p, 'spliced', 4), runOurs(p, 'spliced', 4));
    const libDemandUs = Math.min(await runLibrary(p, true, 4), await runLibrary(p, true, 4));
    /** Speakers one core sustains at 50 packets/s each: 1e6 µs / (50 × µs per packet). */
    const perCore = (us: number) => Math.floor(1e6 / (us * 50));
    ctx.log('receive: latency over loopback UDP');
    const lat = await runLatency(prepare(2, 250), ctx.quick ? 2 : 5);
    const lib = '@discordjs/voice receive stream';
    const libFull = '@discordjs/voice receive + @discordjs/opus decode';
    const spc = 'speakers/core = 1e6/(50 pkt/s × µs/packet), zero drops';
    return [
      { suite: 'receive', name: 'relay decrypt+hand-off', unit: 'µs/packet', value: round(relayUs), baseline: { name: lib, value: round(libUs) } },
      { suite: 'receive', name: `relay ${spc}`, unit: 'speakers', value: perCore(relayUs), baseline: { name: lib, value: perCore(libUs) } },
      { suite: 'receive', name: 'full decrypt+jitter+decode+publish (envelope via makeEnvelope+encodeFrame, the runtime-publish fallback)', unit: 'µs/packet', value: round(fullUs), baseline: { name: libFull, value: round(libFullUs) } },
      { suite: 'receive', name: `full (runtime-publish fallback) ${spc}`, unit: 'speakers', value: perCore(fullUs), baseline: { name: libFull, value: perCore(libFullUs) } },
      { suite: 'receive', name: 'full decrypt+jitter+decode+publish, running path (spliced PcmFrameEncoder envelope, as the agent publishes)', unit: 'µs/packet', value: round(splicedUs), baseline: { name: libFull, value: round(libFullUs) } },
      { suite: 'receive', name: `full running path (spliced envelope), every speaker decoded: ${spc}`, unit: 'speakers', value: perCore(splicedUs), baseline: { name: libFull, value: perCore(libFullUs) } },
      { suite: 'receive', name: `running path, PCM demanded for 1 speaker in 4, all relayed: ${spc}`, unit: 'speakers', value: perCore(demandUs), baseline: { name: '@discordjs/voice receive, @discordjs/opus decode of the same 1 in 4', value: perCore(libDemandUs) } },
      { suite: 'receive', name: 'latency arrival→relay', unit: 'ms', value: round(percentile(lat.relay, 0.5)), p50: round(percentile(lat.relay, 0.5)), p99: round(percentile(lat.relay, 0.99)), baseline: { name: '@discordjs/voice arrival→stream data (p50)', value: round(percentile(lat.libRelay, 0.5)) } },
      { suite: 'receive', name: `latency arrival→PCM publish (minus ${PLAYOUT_MS} ms playout)`, unit: 'ms', value: round(percentile(lat.pcm, 0.5)), p50: round(percentile(lat.pcm, 0.5)), p99: round(percentile(lat.pcm, 0.99)) },
      { suite: 'receive', name: 'latency playout due→drain (timer resolution + event-loop delay)', unit: 'ms', value: round(percentile(lat.drainLate, 0.5)), p50: round(percentile(lat.drainLate, 0.5)), p99: round(percentile(lat.drainLate, 0.99)), baseline: { name: 'control: plain 20 ms setTimeout lateness, same process (p99)', value: round(percentile(lat.timerLate, 0.99)) } },
    ];
  }
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

export default suite;
