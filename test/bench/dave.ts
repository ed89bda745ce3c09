/**
 * `dave` benchmark: frames lost per DAVE fault, the bridge beside the unmodified @discordjs/voice 0.19
 * receiver, in the same channel of one stand-in (DAVE on), under the same load.
 *
 * Two bots share the channel: the real bridge process (its relay branch captured on a UDP socket in
 * the SFU ingest's place: every packet it decrypted, on arrival) and a discord.js bot in this process
 * reading with the library's own receiver (re-subscribed whenever the library destroys its stream: the
 * library's best case). A fault aimed at one bot (a dropped or corrupted commit, transition id 0 then a
 * missed commit) runs once for each, the other living through the same membership change unharmed; a
 * fault every member lives through (late execute, unencrypted frames from a member without keys, a
 * reconnect on a new ssrc, a late op 5, a protocol transition) is measured on both at once. A sent
 * frame counts as received when the bot yields a payload byte-identical to its plaintext Opus (one to
 * one), over the speaker's speech frames in the stand-in's send log from the fault's injection over a
 * fixed window (4 s, 2 s with --quick). When a bot is not back in step after a fault, the next one gets
 * a fresh stand-in, so one fault's damage is not counted against the next.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VoiceConnectionStatus, type DAVESession } from '@discordjs/voice';
import type { Hub } from '@promethean/server';
import { createDaveExtension, readWavFile, startStandin, toStereo48k, type PcmAudio, type SendLogEntry, type Standin } from '@promethean/standin';
import { BusCollector, joinUntilConnected, RelayCapture, spawnBridge, startHub, type BridgeProcess } from '../../bridge/src/integration/harness.ts';
import { joinBot, ReceiveTap, type Bot } from '../standin/src/dave/e2eSupport.ts';
import { isDaveLibraryError } from '../../bridge/src/networking/dave-errors.ts';
import type { BenchContext, BenchRow, BenchSuite } from './types.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/audio/', import.meta.url));
const LIBRARY = '@discordjs/voice 0.19 receiver';

/** Every fixture one after the other (23 s at 48 kHz): alice loops it, so no window repeats an earlier frame. */
function longSpeech(): PcmAudio {
  const parts = ['jfk_16k.wav', 'alice_22k.wav', 'bob_16k_stereo.wav', 'carol_48k.wav'].map((f) => toStereo48k(readWavFile(join(FIXTURES, f))));
  const n = parts.reduce((m, [l]) => m + l.length, 0);
  const left = new Float32Array(n);
  const right = new Float32Array(n);
  let at = 0;
  for (const [l, r] of parts) {
    left.set(l, at);
    right.set(r, at);
    at += l.length;
  }
  return { sampleRate: 48_000, channels: [left, right] };
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) return false;
    await sleep(20);
  }
  return true;
}

type Kind = 'bridge' | 'library';
const KINDS: Kind[] = ['bridge', 'library'];

/** One bot in the channel, as the measurement sees it. */
interface BotView {
  id: string;
  /** How many frames the bot has yielded for `userId` so far (a mark for `framesSince`). */
  mark(userId: string): number;
  /** The frames it yielded for `userId` since `mark` (the bridge: everything it relayed). */
  framesSince(userId: string, mark: number): Uint8Array[];
  /** Starts receiving `userId` (the library bot subscribes; the bridge relays everyone). */
  watch(userId: string): void;
  /** The bot's DAVE session is in the group at the group's epoch. */
  inStep(): boolean;
}

/** One stand-in with both bots in its channel. */
interface World {
  standin: Standin;
  dave: ReturnType<typeof createDaveExtension>;
  bots: Record<Kind, BotView>;
  /** The bridge's latest `dave` health block. */
  health(): unknown;
  joiners: number;
  close(): Promise<void>;
}

interface Target {
  userId: string;
  ssrc?: number;
  /** Send-log entries of the speaker before the fault. */
  from: number;
  /** Each bot's frames before the fault. */
  since: Record<Kind, number>;
}

interface FaultCase {
  name: string;
  /** Aimed at one bot (run once for each, the other living through the same change unharmed), or one event both live through. */
  targeted: boolean;
  /** Injects the fault (at `victim` when targeted); returns whose frames are measured. */
  inject(w: World, victim: Kind | undefined): Promise<Target>;
  /** Puts switches back after the window. */
  after?(w: World): void;
}

const group = (w: World) => w.dave.server.group(w.standin.voiceChannelId);
const aliceId = (w: World): string => w.standin.speakers.get('alice')!.userId;

function mark(w: World, userId: string, ssrc?: number, from?: number): Target {
  const since = { bridge: w.bots.bridge.mark(userId), library: w.bots.library.mark(userId) };
  return { userId, ssrc, from: from ?? w.standin.sendLog.entries({ userId }).length, since };
}

function joinSpeaker(w: World, file = 'jfk_16k.wav'): { name: string; userId: string } {
  const name = `joiner${++w.joiners}`;
  const info = w.standin.speakers.join({ name, audio: readWavFile(join(FIXTURES, file)) });
  for (const k of KINDS) w.bots[k].watch(info.userId);
  return { name, userId: info.userId };
}

/** The group is stable with both bots in step (or `timeoutMs` passed). */
async function settled(w: World, timeoutMs = 20_000): Promise<boolean> {
  return until(() => group(w).status === 'stable' && w.bots.bridge.inStep() && w.bots.library.inStep(), timeoutMs);
}

const CASES: FaultCase[] = [
  {
    name: 'commit dropped',
    targeted: true,
    async inject(w, victim) {
      const t = mark(w, aliceId(w));
      group(w).faults.dropCommitFor = w.bots[victim!].id;
      joinSpeaker(w);
      return t;
    },
  },
  {
    name: 'commit corrupted',
    targeted: true,
    async inject(w, victim) {
      const t = mark(w, aliceId(w));
      group(w).faults.corruptCommitFor = w.bots[victim!].id;
      joinSpeaker(w);
      return t;
    },
  },
  {
    name: 'execute 1.5 s late',
    targeted: false,
    async inject(w) {
      const t = mark(w, aliceId(w));
      group(w).faults.executeDelayMs = 1500;
      joinSpeaker(w);
      return t;
    },
    after(w) {
      group(w).faults.executeDelayMs = 0;
    },
  },
  {
    name: 'unencrypted frames from a member without keys',
    targeted: false,
    async inject(w) {
      const j = joinSpeaker(w, 'bob_16k_stereo.wav');
      const t = mark(w, j.userId, undefined, 0);
      group(w).faults.plainFramesFrom = { userId: j.userId, frames: 50 };
      void w.standin.speakers.play(j.name);
      return t;
    },
  },
  {
    name: 'same user reconnects, new ssrc',
    targeted: false,
    async inject(w) {
      const before = mark(w, w.standin.speakers.get('bob')!.userId);
      w.standin.speakers.leave('bob');
      const again = w.standin.speakers.join({ name: 'bob', audio: readWavFile(join(FIXTURES, 'bob_16k_stereo.wav')) });
      void w.standin.speakers.play('bob');
      return { ...before, ssrc: again.ssrc, from: 0 };
    },
  },
  {
    name: 'op 5 100 ms after the first packets',
    targeted: false,
    async inject(w) {
      const j = joinSpeaker(w, 'carol_48k.wav');
      await settled(w);
      const info = w.standin.speakers.get(j.name)!;
      const t = mark(w, j.userId, info.ssrc, 0);
      void w.standin.faults.delaySpeaking(j.name, 100);
      void w.standin.speakers.play(j.name);
      return t;
    },
  },
  {
    name: 'protocol transition (downgrade, new group)',
    targeted: false,
    async inject(w) {
      const t = mark(w, aliceId(w));
      const g = group(w);
      g.downgrade();
      await until(() => g.protocolVersion === 0 && g.status !== 'transitioning', 5000);
      await sleep(500);
      g.restart(1);
      return t;
    },
  },
  {
    name: 'transition id 0, then a commit missed',
    targeted: true,
    async inject(w, victim) {
      const g = group(w);
      g.faults.zeroTransitionId = true;
      const e0 = g.epoch;
      const j = joinSpeaker(w);
      await until(() => g.epoch === e0 + 1n, 10_000);
      await settled(w, 10_000);
      const t = mark(w, aliceId(w));
      g.faults.dropCommitFor = w.bots[victim!].id;
      w.standin.speakers.leave(j.name);
      return t;
    },
    after(w) {
      group(w).faults.zeroTransitionId = false;
    },
  },
];

/** The library bot's DAVE epoch, from its connection's public state (undefined when in no group). */
function libraryEpoch(bot: Bot): bigint | undefined {
  const state = bot.connection.state;
  if (state.status !== VoiceConnectionStatus.Ready) return undefined;
  const ns = (state.networking as unknown as { state: { dave?: DAVESession } }).state;
  const session = ns.dave?.session as ({ ready: boolean; epoch: bigint | null } | undefined);
  return session?.ready && session.epoch !== null ? session.epoch : undefined;
}

async function startWorld(): Promise<World> {
  const dave = createDaveExtension({ readyTimeoutMs: 1000 });
  const speakers = [
    { name: 'alice', audio: longSpeech() },
    { name: 'bob', audio: readWavFile(join(FIXTURES, 'bob_16k_stereo.wav')) },
  ];
  const standin = await startStandin({ speakers, extensions: [dave] });
  const closers: (() => Promise<void> | void)[] = [() => standin.close().then(() => undefined)];
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await c();
  };
  const speakerIds = standin.speakers.list().map((s) => s.userId);
  const epochOf = (): bigint => dave.server.group(standin.voiceChannelId).epoch;
  try {
    const hub: Hub = await startHub();
    closers.push(() => hub.close());
    const bus = new BusCollector(hub);
    closers.push(() => bus.close());
    await bus.start();
    const relay = await RelayCapture.open();
    closers.push(() => relay.close());
    const bridge: BridgeProcess = spawnBridge(hub, standin, { PROMETHEAN_SFU_INGEST: relay.address });
    closers.push(() => bridge.stop());
    await joinUntilConnected(bus, bridge, standin, 'bench-dave', (s) => s.status === 'connected' && (s.encryption?.dave_protocol_version ?? 0) > 0);
    const bridgeId = standin.voice.sessions().find((s) => !speakerIds.includes(s.userId))!.userId;
    const lib: Bot = await joinBot(standin, 'bench-dave-library-bot');
    closers.push(() => lib.close());
    const taps = new Map<string, ReceiveTap>();
    closers.push(() => {
      for (const t of taps.values()) t.close();
    });
    const library: BotView = {
      id: lib.userId,
      mark: (userId) => taps.get(userId)?.frames.length ?? 0,
      framesSince: (userId, m) => (taps.get(userId)?.frames ?? []).slice(m),
      watch(userId) {
        if (!taps.has(userId)) taps.set(userId, new ReceiveTap(lib.connection, userId));
      },
      inStep: () => group(w).groupMembers.includes(lib.userId) && libraryEpoch(lib) === epochOf(),
    };
    const bridgeView: BotView = {
      id: bridgeId,
      mark: () => relay.packets.length,
      framesSince: (_userId, m) => relay.packets.slice(m).map((p) => p.payload),
      watch() {},
      inStep: () => group(w).groupMembers.includes(bridgeId) && bus.health.at(-1)?.dave?.epoch === Number(epochOf()),
    };
    const w: World = { standin, dave, bots: { bridge: bridgeView, library }, health: () => bus.health.at(-1)?.dave, joiners: 0, close };
    for (const u of speakerIds) library.watch(u);
    if (!(await settled(w, 30_000))) throw new Error('the DAVE group never settled with both bots');
    void standin.speakers.play('alice', { loop: true, pauseMs: 0 });
    await sleep(1000);
    return w;
  } catch (error) {
    await close();
    throw error;
  }
}

/** Speech frames sent for `t` and how many of them each bot never yielded (one to one: a repeated frame must come out twice). */
async function measure(w: World, c: FaultCase, victim: Kind | undefined, windowMs: number): Promise<{ sent: number; lost: Record<Kind, number> }> {
  const t = await c.inject(w, victim);
  await sleep(windowMs);
  const entries: SendLogEntry[] = w.standin.sendLog
    .entries(t.ssrc === undefined ? { userId: t.userId } : { ssrc: t.ssrc })
    .slice(t.from)
    .filter((e) => !e.silence && !e.dropped);
  const last = entries.at(-1);
  const kinds = victim ? [victim] : KINDS;
  // until the last frame came through (or clearly never will)
  if (last) await until(() => kinds.every((k) => w.bots[k].framesSince(t.userId, t.since[k]).some((f) => hex(f) === hex(last.opus))), 1500);
  c.after?.(w);
  const lost = { bridge: 0, library: 0 };
  for (const k of kinds) {
    const got = new Map<string, number>();
    for (const f of w.bots[k].framesSince(t.userId, t.since[k])) got.set(hex(f), (got.get(hex(f)) ?? 0) + 1);
    for (const e of entries) {
      const n = got.get(hex(e.opus)) ?? 0;
      if (n > 0) got.set(hex(e.opus), n - 1);
      else lost[k]++;
    }
  }
  return { sent: entries.length, lost };
}

interface Result {
  name: string;
  sent: Record<Kind, number>;
  lost: Record<Kind, number>;
}

async function runAll(ctx: BenchContext, windowMs: number): Promise<Result[]> {
  const out: Result[] = [];
  let w = await startWorld();
  try {
    const ensure = async (what: string): Promise<void> => {
      if (await settled(w, 15_000)) return;
      ctx.log(`bench dave: a bot did not get back into step; a fresh stand-in for "${what}"`);
      await w.close();
      w = await startWorld();
    };
    for (const c of CASES) {
      const r: Result = { name: c.name, sent: { bridge: 0, library: 0 }, lost: { bridge: 0, library: 0 } };
      for (const victim of c.targeted ? KINDS : [undefined]) {
        await ensure(c.name);
        const m = await measure(w, c, victim, windowMs);
        for (const k of victim ? [victim] : KINDS) {
          r.sent[k] = m.sent;
          r.lost[k] = m.lost[k];
        }
        ctx.log(`bench dave: ${c.name}${victim ? ` (at the ${victim})` : ''}: sent ${m.sent}, lost ${victim ? `${victim} ${m.lost[victim]}` : `bridge ${m.lost.bridge}, library ${m.lost.library}`}; bridge health ${JSON.stringify(w.health())}`);
      }
      out.push(r);
    }
  } finally {
    await w.close();
  }
  return out;
}

const suite: BenchSuite = {
  name: 'dave',
  description: 'frames lost per DAVE fault: the bridge beside the unmodified @discordjs/voice receiver',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const windowMs = ctx.quick ? 2000 : 4000;
    // The unmodified library lets some DAVE errors escape its WebSocket handler (proposals for an epoch
    // its group is not at); counted here so that the comparison can go on.
    let escaped = 0;
    const onUncaught = (error: Error): void => {
      if (!isDaveLibraryError(error)) {
        process.stderr.write(`${error?.stack ?? String(error)}\n`);
        process.exit(1);
      }
      escaped++;
    };
    process.on('uncaughtException', onUncaught);
    try {
      const results = await runAll(ctx, windowMs);
      if (escaped > 0) ctx.log(`bench dave: the library's DAVE session threw ${escaped}× out of its WebSocket handler (uncaught in a plain bot)`);
      return results.map((r) => ({
        suite: 'dave',
        name: `${r.name} (of ${r.sent.bridge}/${r.sent.library} sent)`,
        unit: 'frames lost',
        value: r.lost.bridge,
        baseline: { name: LIBRARY, value: r.lost.library },
      }));
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  },
};

export default suite;
