/**
 * The bridge keeps every speaker's stream through DAVE faults, against the stand-in with DAVE on and
 * the real bridge process (discord.js + @discordjs/voice underneath, unmodified). Alice talks all the
 * time; each case injects one fault, waits for the recovery it needs (by condition, never a fixed
 * sleep) and checks what the bridge says in `voice.health` and, where the bridge must act (op 31), that
 * it sent it and that the epoch advanced. Frames lost are counted against the stand-in's send log, on
 * the relay branch (every decrypted packet goes there on arrival, so a late packet that the jitter
 * buffer conceals still counts as received): a sent frame is received when a relayed payload is
 * byte-identical to its plaintext Opus.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '@promethean/server';
import type { PayloadOf } from '@promethean/shared';
import { createDaveExtension, readWavFile, startStandin, toStereo48k, type PcmAudio, type Standin } from '@promethean/standin';
import { requires } from '../../../test/support/requires.ts';
import { opusAvailable } from '../audio/opus-native.ts';
import { BusCollector, joinUntilConnected, RelayCapture, spawnBridge, startHub, type BridgeProcess } from './harness.ts';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/audio/', import.meta.url));
const ALICE = readWavFile(join(FIXTURES, 'alice_22k.wav'));
const BOB = readWavFile(join(FIXTURES, 'bob_16k_stereo.wav'));
const CAROL = readWavFile(join(FIXTURES, 'carol_48k.wav'));
const JFK = readWavFile(join(FIXTURES, 'jfk_16k.wav'));

/** Every fixture one after the other (23 s at 48 kHz): alice loops it, so no frame of a case's window repeats an earlier one. */
function longSpeech(): PcmAudio {
  const parts = [JFK, ALICE, BOB, CAROL].map((a) => toStereo48k(a));
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

type Health = PayloadOf<'voice.health'>;
type SentFrame = { opus: Uint8Array; silence: boolean; dropped: boolean; timestamp: number; sequence: number };

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

describe.skipIf(!requires('libopus.so.0', opusAvailable(), 'apt-get install libopus0'))('bridge DAVE faults against the stand-in', () => {
  let standin: Standin;
  let hub: Hub;
  let bridge: BridgeProcess;
  let bus: BusCollector;
  let relay: RelayCapture;
  /** Where a case starts: alice's send-log length and the relay capture's length. */
  const mark = (): { log: number; relay: number } => ({ log: aliceLogLength(), relay: relay.packets.length });
  /** Whether a payload byte-identical to `opus` was relayed since relay packet `from`. */
  const relayedSince = (from: number, opus: Uint8Array): boolean => {
    const h = hex(opus);
    for (let i = relay.packets.length - 1; i >= from; i--) if (hex(relay.packets[i]!.payload) === h) return true;
    return false;
  };
  let dave: ReturnType<typeof createDaveExtension>;
  let botId: string;
  let aliceId: string;
  /** op 31 the stand-in received from the bridge. */
  let op31FromBot = 0;
  let joiners = 0;

  const group = () => dave.server.group(standin.voiceChannelId);
  const lastDave = (): NonNullable<Health['dave']> | undefined => bus.health.at(-1)?.dave;

  /** The group is stable with the bot in it, and the bridge's latest health reports the group's epoch. */
  async function settled(what: string, members?: number): Promise<void> {
    await bus.waitFor(() => {
      const g = group();
      const d = lastDave();
      return g.status === 'stable' && g.groupMembers.includes(botId) && (members === undefined || g.groupMembers.length === members) && d?.protocol_version === 1 && d.epoch === Number(g.epoch);
    }, 20_000, `${what} (group ${group().status} epoch ${group().epoch} members ${group().groupMembers.length}; bridge ${JSON.stringify(lastDave())})`);
  }

  /**
   * Speech frames among `entries` (sent on the wire), and how many of them the bridge never relayed
   * since relay packet `relayFrom` (matched one to one, so a frame repeated in the window counts twice).
   */
  async function loss(entries: SentFrame[], relayFrom: number): Promise<{ sent: number; lost: number; lostAt: number[] }> {
    const sent = entries.filter((e) => !e.silence && !e.dropped);
    const last = sent.at(-1);
    // until the last of them came through (or clearly never will)
    if (last) await bus.settle(() => relayedSince(relayFrom, last.opus), 3000);
    const got = new Map<string, number>();
    for (const p of relay.packets.slice(relayFrom)) got.set(hex(p.payload), (got.get(hex(p.payload)) ?? 0) + 1);
    const lostAt: number[] = [];
    sent.forEach((e, i) => {
      const n = got.get(hex(e.opus)) ?? 0;
      if (n > 0) got.set(hex(e.opus), n - 1);
      else lostAt.push(i);
    });
    return { sent: sent.length, lost: lostAt.length, lostAt };
  }

  /** Alice's speech frames sent since `from`, and how many the bridge lost. */
  const aliceLoss = (from: { log: number; relay: number }) => loss(standin.sendLog.entries({ userId: aliceId }).slice(from.log), from.relay);

  const aliceLogLength = (): number => standin.sendLog.entries({ userId: aliceId }).length;

  /** The counters that say why a frame was lost: DAVE (failed, refused unencrypted) or the unmapped hold. */
  const counters = (h: Health | undefined) => ({ failed: h?.dave?.decrypt_failures ?? 0, refused: h?.dave?.unencrypted_rejected ?? 0, unmapped: h?.unmapped ?? 0 });
  /**
   * No frame was lost to DAVE since `before`: no decrypt failure, no unencrypted frame refused, and
   * every frame lost is one the unmapped hold dropped and counted (a loaded machine can send a
   * speaker's op 5 later than the hold's 200 ms; that is the hold's bound, not DAVE's).
   */
  async function expectNoDaveLoss(before: ReturnType<typeof counters>, lost: number): Promise<void> {
    const after = counters(await bus.nextHealth());
    expect(after.failed - before.failed, 'DAVE decrypt failures').toBe(0);
    expect(after.refused - before.refused, 'unencrypted frames refused').toBe(0);
    expect(lost).toBeLessThanOrEqual(after.unmapped - before.unmapped);
  }

  /** Alice is heard again: a frame she sends from now on is published decoded. */
  async function aliceHeard(what: string): Promise<void> {
    const from = aliceLogLength();
    await bus.waitFor(() => {
      // frames sent at least 300 ms ago: time enough for the playout delay and the bus
      const ripe = standin.sendLog.entries({ userId: aliceId }).slice(from).filter((e) => !e.silence && !e.dropped && e.sentAt !== undefined && e.sentAt < standin.speakers.now() - 300);
      return ripe.length >= 10 && ripe.slice(-10).every((e) => bus.pcm.some((f) => f.userId === aliceId && f.timestamp === e.timestamp && f.concealed === undefined));
    }, 10_000, `alice heard again ${what}`);
  }

  function joinSpeaker(audio = JFK): string {
    const name = `joiner${++joiners}`;
    standin.speakers.join({ name, audio });
    return name;
  }

  beforeAll(async () => {
    dave = createDaveExtension({ readyTimeoutMs: 1000 });
    standin = await startStandin({ speakers: [{ name: 'alice', audio: longSpeech() }, { name: 'bob', audio: BOB }], extensions: [dave] });
    hub = await startHub();
    bus = new BusCollector(hub);
    await bus.start();
    relay = await RelayCapture.open();
    bridge = spawnBridge(hub, standin, { PROMETHEAN_SFU_INGEST: relay.address });
    await joinUntilConnected(bus, bridge, standin, 'dave-faults', (s) => s.status === 'connected' && (s.encryption?.dave_protocol_version ?? 0) > 0);
    const speakerIds = standin.speakers.list().map((s) => s.userId);
    botId = standin.voice.sessions().find((s) => !speakerIds.includes(s.userId))!.userId;
    aliceId = standin.speakers.get('alice')!.userId;
    dave.server.on('debug', (m) => {
      if (m.includes(`op 31 from ${botId}`)) op31FromBot++;
    });
    await settled('the bot in the group with alice and bob', 3);
    void standin.speakers.play('alice', { loop: true, pauseMs: 0 });
    await aliceHeard('at the start');
  }, 90_000);

  afterAll(async () => {
    await bridge?.stop();
    bus?.close();
    relay?.close();
    await hub?.close();
    await standin?.close();
  });

  it('reports DAVE protocol version 1 and the group epoch in voice.health', () => {
    const d = lastDave()!;
    expect(d.protocol_version).toBe(1);
    expect(d.epoch).toBe(Number(group().epoch));
    expect(d.epoch).toBeGreaterThanOrEqual(1);
    expect(d.transitions).toBeGreaterThanOrEqual(1);
  });

  it('a commit to the bridge dropped: it sends op 31 itself (undecryptable frames, or an execute for a transition it never saw), is re-added and hears alice again', async () => {
    const g = group();
    const e0 = g.epoch;
    const recoveries0 = lastDave()!.recoveries ?? 0;
    const op31 = op31FromBot;
    const from = mark();
    g.faults.dropCommitFor = botId;
    joinSpeaker();
    await bus.waitFor(() => op31FromBot > op31 && (lastDave()?.recoveries ?? 0) > recoveries0, 15_000, 'op 31 from the bridge');
    await settled('the bridge re-added after a dropped commit');
    await aliceHeard('after the dropped commit');
    const loss = await aliceLoss(from);
    console.log('dropped commit', { loss, epochs: [e0, g.epoch], dave: lastDave(), faults: bus.health.flatMap((h) => h.faults).filter((f) => f.startsWith('DAVE')).slice(-3) });
    expect(g.epoch).toBeGreaterThanOrEqual(e0 + 2n);
    expect(bus.health.some((h) => h.faults.some((f) => f.startsWith('DAVE: recovered')))).toBe(true);
  }, 60_000);

  it('transition id 0, then a missed commit: the bridge sends op 31 after a run of undecryptable frames and recovers (the library never does)', async () => {
    const g = group();
    g.faults.zeroTransitionId = true;
    try {
      const e0 = g.epoch;
      const name = joinSpeaker(CAROL);
      await bus.waitFor(() => g.epoch === e0 + 1n, 15_000, 'a commit with transition id 0');
      await settled('the transition-id-0 commit applied');
      const recoveries0 = lastDave()!.recoveries ?? 0;
      const op31 = op31FromBot;
      const from = mark();
      g.faults.dropCommitFor = botId;
      standin.speakers.leave(name);
      await bus.waitFor(() => op31FromBot > op31 && (lastDave()?.recoveries ?? 0) > recoveries0, 15_000, 'op 31 from the bridge after transition id 0');
      await settled('the bridge re-added after transition id 0 and a missed commit');
      await aliceHeard('after transition id 0 and a missed commit');
      const loss = await aliceLoss(from);
      console.log('tid 0 + missed commit', { loss, epochs: [e0, g.epoch], dave: lastDave() });
      expect(g.epoch).toBeGreaterThanOrEqual(e0 + 3n);
      expect(bus.health.some((h) => h.faults.some((f) => f.includes('undecryptable after transition 0')))).toBe(true);
    } finally {
      g.faults.zeroTransitionId = false;
    }
  }, 60_000);

  it('a corrupted commit: the library sends op 31, the group re-adds the bridge, health counts it', async () => {
    const g = group();
    const e0 = g.epoch;
    const invalid0 = lastDave()!.invalid_commits ?? 0;
    const op31 = op31FromBot;
    const from = mark();
    g.faults.corruptCommitFor = botId;
    joinSpeaker();
    await bus.waitFor(() => op31FromBot > op31 && (lastDave()?.invalid_commits ?? 0) > invalid0, 15_000, 'op 31 for the corrupted commit');
    await settled('the bridge re-added after a corrupted commit');
    await aliceHeard('after the corrupted commit');
    const loss = await aliceLoss(from);
    console.log('corrupted commit', { loss, epochs: [e0, g.epoch], dave: lastDave() });
    expect(g.epoch).toBeGreaterThanOrEqual(e0 + 2n);
  }, 60_000);

  it('a late execute (op 22 1.5 s after every op 23) loses no frame to DAVE', async () => {
    const g = group();
    g.faults.executeDelayMs = 1500;
    try {
      const e0 = g.epoch;
      const t0 = lastDave()!.transitions;
      const from = mark();
      const before = counters(bus.health.at(-1));
      joinSpeaker();
      await bus.waitFor(() => g.epoch === e0 + 1n && (lastDave()?.transitions ?? 0) > t0, 15_000, 'the late execute');
      await settled('after the late execute');
      const loss = await aliceLoss(from);
      console.log('late execute', { loss, dave: lastDave() });
      expect(loss.sent).toBeGreaterThan(50);
      await expectNoDaveLoss(before, loss.lost);
    } finally {
      g.faults.executeDelayMs = 0;
    }
  }, 60_000);

  it('a member whose keys have not arrived sends unencrypted frames: passed through within its window, none lost to DAVE', async () => {
    const passthrough0 = lastDave()!.passthrough_frames;
    const before = counters(bus.health.at(-1));
    const relayFrom = relay.packets.length;
    const name = joinSpeaker(BOB);
    const id = standin.speakers.get(name)!.userId;
    group().faults.plainFramesFrom = { userId: id, frames: 30 };
    await standin.speakers.play(name);
    const { sent, lost, lostAt } = await loss(standin.sendLog.entries({ userId: id }), relayFrom);
    await bus.waitFor(() => (lastDave()?.passthrough_frames ?? 0) >= passthrough0 + 30, 5000, 'health counting the passthrough frames');
    console.log('plain frames from a new member', { sent, lost, lostAt, unmapped: bus.health.at(-1)?.unmapped, dave: lastDave() });
    expect(dave.counters.speakerFramesFaultPlain).toBeGreaterThanOrEqual(30);
    await expectNoDaveLoss(before, lost);
    await settled('after the new member');
  }, 60_000);

  it('the same user reconnects with a new ssrc: its stream goes on from the new ssrc’s first packet, none lost to DAVE', async () => {
    const before = standin.speakers.get('bob')!;
    const counted = counters(bus.health.at(-1));
    const relayFrom = relay.packets.length;
    standin.speakers.leave('bob');
    standin.speakers.join({ name: 'bob', audio: BOB });
    const after = standin.speakers.get('bob')!;
    expect(after.userId).toBe(before.userId);
    expect(after.ssrc).not.toBe(before.ssrc);
    const from = bus.pcm.length;
    await standin.speakers.play('bob');
    const log = standin.sendLog.entries({ ssrc: after.ssrc });
    const { sent, lost, lostAt } = await loss(log, relayFrom);
    const lastAudio = log.findLast((e) => !e.silence && !e.dropped)!;
    await bus.waitFor(() => bus.published(after.userId, lastAudio.timestamp), 10_000, "bob's last frame on the new ssrc published");
    const mine = bus.pcm.slice(from).filter((f) => f.userId === after.userId);
    const h = bus.health.at(-1)!;
    console.log('reconnect with a new ssrc', { sent, lost, lostAt: lostAt.slice(0, 20), unmapped: h.unmapped, held: h.held, decrypt_errors: h.decrypt_errors, malformed: h.malformed_packets, speaker: h.speakers.find((x) => x.ssrc === after.ssrc), dave: lastDave() });
    await expectNoDaveLoss(counted, lost);
    if (lostAt[0] !== 0) expect(mine[0]?.seq).toBe(standin.sendLog.entries({ ssrc: after.ssrc })[0]!.sequence);
    await settled('after the reconnect');
  }, 60_000);

  it('packets before their ssrc is mapped (op 5 100 ms late) go through DAVE once mapped: published from the first packet, or the early ones counted', async () => {
    const name = joinSpeaker(CAROL);
    const info = standin.speakers.get(name)!;
    await settled('the late speaker in the group');
    const unmapped0 = (await bus.nextHealth()).unmapped ?? 0;
    const from = bus.pcm.length;
    const late = standin.faults.delaySpeaking(name, 100);
    await standin.speakers.play(name);
    const { sent: announced, firstSequence, packetsBefore } = await late;
    expect(announced).toBe(true);
    const spoken = standin.sendLog.entries({ ssrc: info.ssrc }).filter((e) => !e.silence && !e.dropped);
    await bus.waitFor(() => bus.published(info.userId, spoken.at(-1)!.timestamp), 10_000, `${name}'s last frame`);
    const h = await bus.nextHealth();
    const mine = bus.pcm.slice(from).filter((f) => f.userId === info.userId);
    // The hold keeps 200 ms (10 packets): a loaded machine can send op 5 later than asked, and then
    // exactly the packets it dropped are counted as unmapped.
    const dropped = (h.unmapped ?? 0) - unmapped0;
    console.log('late op 5 under DAVE', { packetsBefore, dropped, held: h.held, firstPublished: mine[0]?.seq, firstSequence, dave: h.dave });
    expect(packetsBefore).toBeGreaterThan(0);
    expect(h.dave?.decrypt_failures).toBe(lastDave()?.decrypt_failures);
    expect((mine[0]!.seq - firstSequence!) & 0xffff).toBe(dropped);
    if (packetsBefore <= 10) expect(dropped).toBe(0);
  }, 60_000);

  it('a protocol transition (downgrade to transport only, then a new group): unencrypted frames pass, the bridge follows both ways', async () => {
    const g = group();
    const passthrough0 = lastDave()!.passthrough_frames;
    const from = mark();
    g.downgrade();
    await bus.waitFor(() => g.protocolVersion === 0 && lastDave()?.protocol_version === 0, 15_000, 'the downgrade reported');
    await aliceHeard('after the downgrade');
    g.restart(1);
    await settled('a new group after the upgrade');
    await aliceHeard('after the upgrade');
    const loss = await aliceLoss(from);
    console.log('protocol transition', { loss, dave: lastDave() });
    expect(lastDave()!.passthrough_frames).toBeGreaterThan(passthrough0);
    expect(lastDave()!.epoch).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('every stream survived: alice’s speaker entry kept counting and no decrypt error ended the bridge', () => {
    const h = bus.health.at(-1)!;
    const alice = h.speakers.find((s) => s.user_id === aliceId);
    expect(alice).toBeDefined();
    expect(bridge.child.exitCode).toBeNull();
    console.log('final', { dave: h.dave, decrypt_errors: h.decrypt_errors, op31FromBot });
  });
});
