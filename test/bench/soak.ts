/**
 * `promethean bench soak [--minutes N]` (never part of the default run): the real bridge process
 * against the stand-in with ten looping speakers and DAVE on, for N minutes (default 10).
 *
 * Every minute one speaker leaves and a new one joins (membership change, and a DAVE epoch); every two
 * minutes one fault, in turn: voice socket close 4015 (resume), close 1006 (resume), 1.5 s of dropped
 * UDP, a burst of malformed datagrams on a mapped ssrc, and the stand-in's DAVE faults (a corrupted
 * commit for the bot, transition id 0, plain frames from a speaker whose keys "have not arrived").
 *
 * Reported: the share of frames the stand-in sent (its send log: audio frames handed to UDP, not the
 * ones a UDP-drop fault threw away) that the bridge published as decoded PCM (not concealed), matched
 * by (user, RTP timestamp); reconnects, and reconnect loops (a `reconnecting` state that no injected
 * close explains, or a session that ends anything but connected); the bridge's RSS (from /proc) and
 * JS heap (its runtime health) at minute 2, the middle and the end, and their growth after minute 2.
 * Goals (issue 8): ≥ 99.5 % published, zero loops, growth under 10 %.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BusClient, makeEnvelope, type Envelope, type PayloadOf } from '@promethean/shared';
import { createDaveExtension, readWavFile, startStandin, type PcmAudio, type Standin } from '@promethean/standin';
import { spawnBridge, TENANT, type BridgeProcess } from '../../bridge/src/integration/harness.ts';
import type { BenchContext, BenchRow, BenchSuite } from './types.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/audio/', import.meta.url));
const HUB_CHILD = fileURLToPath(new URL('../../server/src/hub/run-child.ts', import.meta.url));
const COLLECTOR_CHILD = fileURLToPath(new URL('./soak-collector.child.ts', import.meta.url));
const tsFlags = (process.features as { typescript?: unknown }).typescript ? [] : ['--import', 'tsx'];

/** Starts a child that prints one JSON line when ready; resolves with it. */
async function startChild(script: string, arg: string): Promise<{ proc: ChildProcess; info: Record<string, unknown> }> {
  const proc = spawn(process.execPath, [...tsFlags, script, arg], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout! });
  const line = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
  });
  return { proc, info: JSON.parse(line) as Record<string, unknown> };
}

/** Ends a child by closing its stdin; its last stdout line (if any) is returned. */
async function endChild(proc: ChildProcess): Promise<string> {
  if (proc.exitCode !== null) return '';
  let last = '';
  createInterface({ input: proc.stdout! }).on('line', (l) => (last = l));
  const exited = new Promise((r) => proc.once('exit', r));
  proc.stdin?.end();
  const kill = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(kill);
  return last;
}
const SPEAKERS = 10;
const SESSION = 'soak';

interface Sample {
  label: string;
  atS: number;
  rssMb: number;
  heapMb: number;
}

/** RSS of a process in MB, from /proc (Linux); NaN elsewhere. */
function rssMb(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Control traffic only (states, health); the PCM is counted by the collector child. */
class SoakCollector {
  readonly client: BusClient;
  readonly states: { at: number; state: PayloadOf<'voice.state.connected'> }[] = [];
  heapMb = NaN;
  /** The bridge runtime's own count of `voice.audio.pcm` frames it handed to the bus (concealed included). */
  bridgePublished = 0;
  lastHealth: PayloadOf<'voice.health'> | undefined;

  constructor(url: string, token: string) {
    this.client = new BusClient({ url, token });
  }

  async start(): Promise<void> {
    await this.client.connect();
    const voice = this.client.subscribe(`promethean.p.discord.t.${TENANT}.voice.state.connected`, (env) => {
      this.states.push({ at: performance.now(), state: env.payload as PayloadOf<'voice.state.connected'> });
    });
    const voiceHealth = this.client.subscribe(`promethean.p.discord.t.${TENANT}.voice.health`, (env) => {
      this.lastHealth = env.payload as PayloadOf<'voice.health'>;
    });
    const health = this.client.subscribe(`promethean.p.*.t.*.health`, (env) => {
      const p = env.payload as PayloadOf<'health'>;
      if (p.agent_id === 'discord-voice-access') {
        this.heapMb = p.heap_mb;
        this.bridgePublished = Number((p.counters as Record<string, number> | undefined)?.['published.voice.audio.pcm'] ?? 0);
      }
    });
    await Promise.all([voice.ready, voiceHealth.ready, health.ready]);
  }

  publish(intent: string, payload: unknown): void {
    this.client.publish(makeEnvelope(intent, payload as never, { src: 'bench-soak', provider: 'discord', tenant: TENANT }) as Envelope);
  }
}

/** The frames the stand-in put on the wire, accumulated from its (bounded) send log as the run goes. */
class SentFrames {
  readonly keys = new Map<string, number>(); // `${user}:${timestamp}` → sentAt (stand-in ms)
  udpDropped = 0;
  private readonly seenDrops = new Set<string>();
  private readonly standin: Standin;
  /** Where the last poll stopped in the send log: each poll reads only what is new. */
  private at = 0;
  /** Entries the log trimmed before a poll read them (would undercount what was sent). */
  missed = 0;
  constructor(standin: Standin) {
    this.standin = standin;
  }

  poll(): void {
    const { entries, next, missed } = this.standin.sendLog.since(this.at);
    this.at = next;
    this.missed += missed;
    for (const e of entries) {
      if (e.silence) continue;
      const key = `${e.userId}:${e.timestamp}`;
      if (e.dropped) {
        if (e.reason === 'udp-fault' && !this.seenDrops.has(key)) {
          this.seenDrops.add(key);
          this.udpDropped++;
        }
        continue;
      }
      if (e.sentAt !== undefined && !this.keys.has(key)) this.keys.set(key, e.sentAt);
    }
  }
}

interface Fault {
  name: string;
  /** Whether it closes the voice socket (a reconnect it explains). */
  closes: boolean;
  inject(standin: Standin, dave: ReturnType<typeof createDaveExtension>, botUserId: string | undefined): boolean;
}

function daveFaults(dave: ReturnType<typeof createDaveExtension>, channelId: string): Record<string, unknown> | undefined {
  const group = dave.server.group(channelId) as unknown as { faults?: Record<string, unknown> };
  return group.faults;
}

const FAULTS: Fault[] = [
  { name: 'voice close 4015 (resume)', closes: true, inject: (s) => s.faults.closeVoice(4015) > 0 },
  { name: 'DAVE: corrupted commit for the bot', closes: false, inject: (s, d, bot) => {
    const f = daveFaults(d, s.voiceChannelId);
    if (!f || !('corruptCommitFor' in f) || !bot) return false;
    f.corruptCommitFor = bot;
    return true;
  } },
  { name: 'UDP dropped 1.5 s', closes: false, inject: (s) => (s.faults.dropUdp(1500), true) },
  { name: 'voice close 1006 (resume)', closes: true, inject: (s) => s.faults.closeVoice(1006) > 0 },
  { name: 'DAVE: plain frames from a speaker (keys not arrived)', closes: false, inject: (s, d) => {
    const f = daveFaults(d, s.voiceChannelId);
    const who = s.speakers.list()[0];
    if (!f || !('plainFramesFrom' in f) || !who) return false;
    f.plainFramesFrom = { userId: who.userId, frames: 25 };
    return true;
  } },
  { name: '20 malformed datagrams on a mapped ssrc', closes: false, inject: (s) => {
    const who = s.speakers.list()[0];
    return who ? s.faults.sendMalformed({ kind: 'bad-tag', ssrc: who.ssrc, count: 20 }) > 0 : false;
  } },
  { name: 'DAVE: transition id 0 for the next commits', closes: false, inject: (s, d) => {
    const f = daveFaults(d, s.voiceChannelId);
    if (!f || !('zeroTransitionId' in f)) return false;
    f.zeroTransitionId = !f.zeroTransitionId;
    return true;
  } },
];

const suite: BenchSuite = {
  name: 'soak',
  description: 'the bridge for N minutes (--minutes, default 10): 10 DAVE speakers, membership change every minute, a fault every two; PCM published, reconnect loops, memory growth',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const minutes = ctx.minutes ?? (ctx.quick ? 2 : 10);
    const totalMs = minutes * 60_000;
    // the timeline keeps its 1 min / 2 min rhythm for runs of 5 minutes or more; shorter (debug) runs scale it
    const memberEveryMs = Math.min(60_000, totalMs / 5);
    const faultEveryMs = 2 * memberEveryMs;
    const audio: PcmAudio[] = ['alice_22k.wav', 'bob_16k_stereo.wav', 'carol_48k.wav', 'jfk_16k.wav'].map((f) => readWavFile(FIXTURES + f));
    const spec = (k: number) => ({ name: `soak${k}`, audio: audio[k % audio.length]! });
    const dave = createDaveExtension();
    const standin = await startStandin({ speakers: Array.from({ length: SPEAKERS }, (_, k) => spec(k)), extensions: [dave] });
    // the hub and the PCM counter run as their own processes: this one runs the stand-in's ten speakers
    const dataDir = await mkdtemp(join(tmpdir(), 'promethean-soak-'));
    const hubChild = await startChild(HUB_CHILD, JSON.stringify({ dataDir, writeRuntimeFile: false }));
    const hub = { url: String(hubChild.info.url), httpUrl: String(hubChild.info.httpUrl), agentKeyFile: String(hubChild.info.keyFile) };
    const token = (await readFile(hub.agentKeyFile, 'utf8')).trim();
    const bus = new SoakCollector(hub.url, token);
    let collector: ChildProcess | undefined;
    let bridge: BridgeProcess | undefined;
    try {
      await bus.start();
      collector = (await startChild(COLLECTOR_CHILD, JSON.stringify({ url: hub.url, token, pattern: `promethean.p.discord.t.${TENANT}.voice.audio.pcm` }))).proc;
      bridge = spawnBridge(hub as never, standin);
      ctx.log(`soak: ${minutes} min, ${SPEAKERS} speakers, DAVE on; membership change every ${memberEveryMs / 1000} s, a fault every ${faultEveryMs / 1000} s`);
      const t0 = performance.now();
      while (!bus.states.some((s) => s.state.status === 'connected' && (s.state.encryption?.dave_protocol_version ?? 0) > 0)) {
        if (performance.now() - t0 > 120_000 || bridge.child.exitCode !== null) throw new Error(`soak: the bridge did not connect with DAVE: ${bridge.output().slice(-2000)}`);
        bus.publish('voice.control.join', { guild_id: standin.guildId, channel_id: standin.voiceChannelId, session_id: SESSION, prefer_opus: true, self_mute: false, self_deaf: false });
        await sleep(1000);
      }
      // warm-up (not counted): the bot's MLS group holds every speaker and its first transition is done
      const group = dave.server.group(standin.voiceChannelId);
      const w0 = performance.now();
      while (!(group.status === 'stable' && group.groupMembers.length >= SPEAKERS + 1) && performance.now() - w0 < 60_000) await sleep(250);
      ctx.log(`soak: DAVE group ${group.status} with ${group.groupMembers.length} members after ${((performance.now() - w0) / 1000).toFixed(1)} s`);
      const botUserId = [...standin.world.voiceStates.values()].find((v) => standin.world.users.get(v.user_id)?.bot)?.user_id;
      for (const s of standin.speakers.list()) void standin.speakers.play(s.name, { loop: true, pauseMs: 400 });
      const sent = new SentFrames(standin);
      // the stand-in sends from this process: its own stalls delay frames (late at the bridge, not lost by it)
      const loopDelay = monitorEventLoopDelay({ resolution: 5 });
      loopDelay.enable();
      const startStandinMs = standin.speakers.now();
      const start = performance.now();
      const closesAt: number[] = [];
      const injected: string[] = [];
      const samples: Sample[] = [];
      const sampleAt = [
        { label: 'minute 2', atMs: Math.min(120_000, totalMs / 5) },
        { label: 'middle', atMs: totalMs / 2 },
        { label: 'end', atMs: totalMs - 1000 },
      ];
      let nextMember = memberEveryMs;
      let nextFault = faultEveryMs;
      let faultIndex = 0;
      let joined = SPEAKERS;
      let lastPoll = 0;
      while (performance.now() - start < totalMs) {
        await sleep(250);
        const el = performance.now() - start;
        if (bridge.child.exitCode !== null) throw new Error(`soak: the bridge exited: ${bridge.output().slice(-2000)}`);
        if (el - lastPoll >= 1000) {
          sent.poll();
          lastPoll = el;
        }
        if (el >= nextMember) {
          nextMember += memberEveryMs;
          const oldest = standin.speakers.list()[0];
          if (oldest) standin.speakers.leave(oldest.name);
          const s = spec(joined++);
          standin.speakers.join(s);
          void standin.speakers.play(s.name, { loop: true, pauseMs: 400 });
          ctx.log(`soak: ${(el / 1000).toFixed(0)} s: ${oldest?.name ?? 'nobody'} left, ${s.name} joined`);
        }
        if (el >= nextFault) {
          nextFault += faultEveryMs;
          // the next fault the stand-in supports (DAVE switches only where the DAVE extension has them)
          for (let tries = 0; tries < FAULTS.length; tries++) {
            const f = FAULTS[faultIndex++ % FAULTS.length]!;
            if (!f.inject(standin, dave, botUserId)) continue;
            if (f.closes) closesAt.push(performance.now());
            injected.push(f.name);
            ctx.log(`soak: ${(el / 1000).toFixed(0)} s: fault: ${f.name}`);
            break;
          }
        }
        for (const s of sampleAt) {
          if (el >= s.atMs && !samples.some((x) => x.label === s.label)) {
            samples.push({ label: s.label, atS: Math.round(el / 1000), rssMb: rssMb(bridge.child.pid), heapMb: bus.heapMb });
            ctx.log(`soak: ${s.label}: bridge RSS ${samples.at(-1)!.rssMb.toFixed(1)} MB, heap ${bus.heapMb} MB`);
          }
        }
      }
      const endStandinMs = standin.speakers.now();
      for (const s of standin.speakers.list()) standin.speakers.stop(s.name);
      sent.poll();
      // frames sent in the last 2 s may still be inside the bridge's playout delay: wait, then count
      // every frame sent since the bridge connected up to 2 s before the end
      await sleep(3000);
      // what the hub dropped because a subscriber (the counter) fell behind: loss that is not the bridge's
      let hubDropped = NaN;
      try {
        const m = (await (await fetch(`${hub.httpUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } })).json()) as { dropped?: number };
        hubDropped = m.dropped ?? NaN;
      } catch {
        hubDropped = NaN;
      }
      const report = JSON.parse((await endChild(collector)) || '{"published":{},"concealed":0}') as { published: Record<string, number[]>; concealed: number };
      collector = undefined;
      const published = new Set<string>();
      for (const [user, stamps] of Object.entries(report.published)) for (const t of stamps) published.add(`${user}:${t}`);
      let counted = 0;
      let got = 0;
      // where the missing frames are: per 10 s of the run and per speaker, to tell a fault's loss
      // from a steady one
      const missingAt = new Map<number, Map<string, number>>();
      for (const [key, at] of sent.keys) {
        if (at < startStandinMs || at > endStandinMs - 2000) continue;
        counted++;
        if (published.has(key)) got++;
        else {
          const bucket = Math.floor((at - startStandinMs) / 10_000) * 10;
          const users = missingAt.get(bucket) ?? new Map<string, number>();
          const user = key.slice(0, key.indexOf(':'));
          users.set(user, (users.get(user) ?? 0) + 1);
          missingAt.set(bucket, users);
        }
      }
      for (const [bucket, users] of [...missingAt].sort((a, b) => a[0] - b[0])) {
        const total = [...users.values()].reduce((a, b) => a + b, 0);
        ctx.log(`soak: missing ${total} frames in ${bucket}–${bucket + 10} s: ${[...users].map(([u, n]) => `${u.slice(-4)}×${n}`).join(' ')}`);
      }
      const pct = counted > 0 ? (100 * got) / counted : NaN;
      // reconnect loops: reconnecting states no injected close explains (within 20 s before), and a
      // session that is not connected at the end
      const since = bus.states.filter((s) => s.at >= start);
      const reconnects = since.filter((s) => s.state.status === 'reconnecting' || s.state.status === 'disconnected').length;
      const unexplained = since.filter((s) => (s.state.status === 'reconnecting' || s.state.status === 'disconnected') && !closesAt.some((c) => s.at >= c && s.at - c < 20_000)).length;
      const final = bus.states.at(-1)?.state.status;
      const loops = unexplained + (final === 'connected' ? 0 : 1);
      ctx.log(`soak: ${got}/${counted} sent frames published as PCM (${pct.toFixed(3)} %), ${report.concealed} concealed frames, ${sent.udpDropped} frames dropped by the UDP fault, reconnects ${reconnects} (unexplained ${unexplained}), final status ${final}, faults: ${injected.join('; ')}`);
      ctx.log(`soak: the bridge's own count of PCM frames published (concealed included): ${bus.bridgePublished}; hub media frames dropped for slow subscribers: ${hubDropped}`);
      const h = bus.lastHealth;
      if (h) {
        const speakers = h.speakers;
        const sum = (f: (x: (typeof speakers)[number]) => number): number => speakers.reduce((n, x) => n + f(x), 0);
        ctx.log(`soak: last voice.health: ${h.state}, ${h.speakers.length} speakers (${h.speakers.filter((x) => x.decoded !== false).length} decoded), dropped ${h.dropped_frames}, decrypt errors ${h.decrypt_errors}, unmapped ${h.unmapped ?? 0}, dave ${JSON.stringify(h.dave ?? null)}, faults ${JSON.stringify(h.faults)}`);
        ctx.log(`soak: the current speakers' streams: received ${sum((x) => x.received)}, lost ${sum((x) => x.lost)}, late ${sum((x) => x.late)}, reordered ${sum((x) => x.reordered)}, concealed ${sum((x) => x.concealed)}, jitter max ${Math.max(...speakers.map((x) => x.jitter_ms)).toFixed(1)} ms, playout delay max ${Math.max(...speakers.map((x) => x.playout_delay_ms ?? 0)).toFixed(0)} ms`);
      }
      if (sent.missed > 0) ctx.log(`soak: ${sent.missed} send-log entries were trimmed before they were read (the counts undercount what was sent)`);
      ctx.log(`soak: this process (the stand-in's sender): event-loop delay p99 ${(loopDelay.percentile(99) / 1e6).toFixed(1)} ms, max ${(loopDelay.max / 1e6).toFixed(1)} ms`);
      if (got === 0) ctx.log(`soak: nothing published; the bridge's log: ${bridge.output().slice(-3000)}`);
      const m2 = samples.find((s) => s.label === 'minute 2');
      const end = samples.find((s) => s.label === 'end');
      const growth = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && a > 0 ? (100 * (b - a)) / a : NaN);
      const rows: BenchRow[] = [
        { suite: 'soak', name: `PCM published / audio frames sent (${minutes} min, ${SPEAKERS} DAVE speakers, ${injected.length} faults)`, unit: '%', value: round(pct), baseline: { name: 'goal', value: 99.5 } },
        { suite: 'soak', name: 'reconnect loops (reconnects no injected close explains, or not connected at the end)', unit: 'count', value: loops, baseline: { name: 'goal', value: 0 } },
        { suite: 'soak', name: 'reconnects (all, injected closes included)', unit: 'count', value: reconnects },
        { suite: 'soak', name: 'media frames the hub dropped because the counting subscriber fell behind (loss not caused by the bridge)', unit: 'frames', value: hubDropped },
        { suite: 'soak', name: "PCM frames the bridge published by its own counter (concealed included) / audio frames sent", unit: '%', value: round(counted > 0 ? (100 * bus.bridgePublished) / sent.keys.size : NaN) },
      ];
      for (const s of samples) {
        rows.push({ suite: 'soak', name: `bridge RSS at ${s.label} (${s.atS} s)`, unit: 'MB', value: round(s.rssMb) });
        rows.push({ suite: 'soak', name: `bridge JS heap at ${s.label} (${s.atS} s)`, unit: 'MB', value: s.heapMb });
      }
      rows.push({ suite: 'soak', name: 'bridge RSS growth after minute 2', unit: '%', value: round(growth(m2?.rssMb, end?.rssMb)), baseline: { name: 'goal (under)', value: 10 } });
      rows.push({ suite: 'soak', name: 'bridge JS heap growth after minute 2', unit: '%', value: round(growth(m2?.heapMb, end?.heapMb)), baseline: { name: 'goal (under)', value: 10 } });
      return rows;
    } finally {
      await bridge?.stop();
      if (collector) await endChild(collector);
      bus.client.close();
      await endChild(hubChild.proc);
      await standin.close();
    }
  },
};

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

export default suite;
