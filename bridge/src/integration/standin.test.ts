/**
 * The bridge process end to end: real discord.js + @discordjs/voice in bridge/src/main.ts, against the
 * protocol-accurate stand-in, speaking to a real hub. Checks what reaches the bus (and the SFU relay's
 * UDP) against the sources and the stand-in's send log. No fixed sleeps: every wait is for a condition.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '@promethean/server';
import { startStandin, readWavFile, toStereo48k, type Standin, type PcmAudio } from '@promethean/standin';
import { requires } from '../../../test/support/requires.ts';
import { opusAvailable } from '../audio/opus-native.ts';
import { alignedNcc } from '@promethean/standin';
import { createRequire } from 'node:module';
import { BusCollector, joinUntilConnected, RelayCapture, spawnBridge, startHub, type BridgeProcess } from './harness.ts';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/audio/', import.meta.url));

function tone(freq: number, seconds: number): PcmAudio {
  const n = Math.round(48000 * seconds);
  const ch = new Float32Array(n);
  for (let i = 0; i < n; i++) ch[i] = 0.3 * Math.sin((2 * Math.PI * freq * i) / 48000);
  return { sampleRate: 48000, channels: [ch] };
}

function mono48k(audio: PcmAudio): Float32Array {
  const [l, r] = toStereo48k(audio);
  const out = new Float32Array(l.length);
  for (let i = 0; i < l.length; i++) out[i] = (l[i]! + r[i]!) / 2;
  return out;
}

const require = createRequire(import.meta.url);
const { OpusEncoder: RefOpus } = require('@discordjs/opus') as {
  OpusEncoder: new (rate: number, channels: number) => { encode(b: Buffer): Buffer; decode(b: Buffer): Buffer };
};

/** RFC 3550 interarrival jitter (ms) of what the stand-in actually sent, in send order. */
function sentJitterMs(entries: { timestamp: number; sentAt: number | undefined; dropped: boolean }[]): number {
  const sent = entries.filter((e) => !e.dropped && e.sentAt !== undefined).sort((a, b) => a.sentAt! - b.sentAt!);
  let j = 0;
  let prev: number | undefined;
  for (const e of sent) {
    const transit = e.sentAt! * 48 - e.timestamp;
    if (prev !== undefined) j += (Math.abs(transit - prev) - j) / 16;
    prev = transit;
  }
  return j / 48;
}

/** One frame a simulated speaker produced (sent or lost), from the stand-in's `frame` event. */
interface Produced {
  sequence: number;
  timestamp: number;
  silence: boolean;
  opus: Uint8Array;
}

/** 16-bit sequence distance `to − from`. */
const seqDistance = (to: number, from: number): number => (to - from + 0x10000) & 0xffff;

const hex = (b: Uint8Array | undefined): string => (b ? Buffer.from(b).toString('hex') : 'none');

const JFK = readWavFile(join(FIXTURES, 'jfk_16k.wav'));

const SOURCES = {
  alice: readWavFile(join(FIXTURES, 'alice_22k.wav')),
  bob: readWavFile(join(FIXTURES, 'bob_16k_stereo.wav')),
  tone: tone(523.25, 3),
  carol: readWavFile(join(FIXTURES, 'carol_48k.wav')),
};

describe.skipIf(!requires('libopus.so.0', opusAvailable(), 'apt-get install libopus0'))('bridge against the stand-in', () => {
  let standin: Standin;
  let hub: Hub;
  let bridge: BridgeProcess;
  let bus: BusCollector;
  let relay: RelayCapture;
  /** Every frame each speaker produced, by user id, in production order. */
  const produced = new Map<string, Produced[]>();

  beforeAll(async () => {
    standin = await startStandin({
      speakers: [
        { name: 'alice', audio: SOURCES.alice },
        { name: 'bob', audio: SOURCES.bob },
        { name: 'tone', audio: SOURCES.tone },
      ],
      resumeWindowMs: 10_000,
    });
    standin.speakers.on('frame', (f) => {
      let list = produced.get(f.speaker.userId);
      if (!list) produced.set(f.speaker.userId, (list = []));
      list.push({ sequence: f.sequence, timestamp: f.timestamp, silence: f.silence, opus: f.opus });
    });
    hub = await startHub();
    bus = new BusCollector(hub);
    await bus.start();
    relay = await RelayCapture.open();
    bridge = spawnBridge(hub, standin, { PROMETHEAN_SFU_INGEST: relay.address });
    await joinUntilConnected(bus, bridge, standin, 'it-1');
  }, 60_000);

  afterAll(async () => {
    await bridge?.stop();
    relay?.close();
    bus?.close();
    await hub?.close();
    await standin?.close();
  });

  /** How many frames a speaker has produced so far (a pass's frames start at this index). */
  const producedCount = (userId: string): number => produced.get(userId)?.length ?? 0;

  /** The last audio (not silence) frame a speaker produced since frame index `from`. */
  function lastAudio(userId: string, from = 0): Produced | undefined {
    return produced.get(userId)?.slice(from).findLast((f) => !f.silence);
  }

  /**
   * Waits until the last audio frame of each speaker's pass (produced since `from[i]`) came out of the
   * bridge as PCM, decoded or concealed. Resolves false after `timeoutMs`; the assertions that follow
   * then say what is missing.
   */
  function passPublished(speakers: Array<{ userId: string; from?: number }>, timeoutMs = 10_000): Promise<boolean> {
    const targets = speakers.map((s) => ({ userId: s.userId, timestamp: lastAudio(s.userId, s.from ?? 0)?.timestamp }));
    return bus.settle(() => targets.every((t) => bus.published(t.userId, t.timestamp)), timeoutMs);
  }

  /**
   * How late (ms) the stand-in sent a speaker's packets beyond the delay it chose for them: its own
   * event loop stalled (this machine's load), which the bridge cannot tell from network delay.
   */
  function senderStallMs(ssrc: number): number {
    let worst = 0;
    for (const e of standin.sendLog.entries({ ssrc })) if (e.sentAt !== undefined) worst = Math.max(worst, e.sentAt - e.dueAt - e.delayMs);
    return worst;
  }

  /** Waits until PCM (not concealed) of `userId` arrives after bus.pcm index `from`. */
  const flowing = (userId: string, from: number, what: string) => bus.waitFor(() => bus.pcm.slice(from).some((f) => f.userId === userId && !f.concealed), 5000, what);

  // Formerly flaky (NCC 0.2078 for bob in 2 of ~12 runs, hidden by a second attempt): the stand-in queues the
  // second and third of three back-to-back op 5 messages behind a pending TLS write while the first
  // RTP goes straight out on UDP, so those speakers' first packet reached the bridge before their op 5
  // and was dropped as unmapped. One missing 20 ms frame puts the alignment outside the −10…100 ms lag
  // window (the tone, being periodic, matched at any lag). The bridge now holds such packets.
  it('publishes each speaker’s PCM from its first sent packet, matching its source (NCC ≥ 0.95) with no cross-talk', async () => {
    const start = performance.now();
    const from = bus.pcm.length;
    const speakers = standin.speakers.list();
    const before = bus.health.at(-1);
    await Promise.all(speakers.map((s) => standin.speakers.play(s.name)));
    await passPublished(speakers);
    const last = await bus.nextHealth();
    const ids = Object.fromEntries(speakers.map((s) => [s.name, s.userId])) as Record<string, string>;
    const results: Record<string, number> = {};
    for (const s of speakers) {
      const mine = bus.pcm.slice(from).filter((f) => f.userId === s.userId);
      // nothing clipped: the first frame published is the first packet the stand-in sent, on the relay too
      const firstSent = standin.sendLog.entries({ ssrc: s.ssrc })[0]!;
      expect(mine[0]?.seq, `${s.name}'s first published seq`).toBe(firstSent.sequence);
      expect(mine[0]?.concealed).toBeUndefined();
      expect(hex(relay.of(bus.relaySsrc(s.userId))[0]?.payload), `${s.name}'s first relayed packet`).toBe(hex(produced.get(s.userId)![0]!.opus));
      const got = bus.timeline(s.userId, false, from);
      expect(got.length, `${s.name} frames`).toBeGreaterThan(48000);
      const { ncc } = alignedNcc(got, mono48k(SOURCES[s.name as keyof typeof SOURCES]), -480, 4800);
      results[s.name] = ncc;
      const why = `${s.name} NCC (frames ${mine.length}, concealed ${mine.filter((f) => f.concealed).length}, seq ${mine[0]?.seq}..${mine.at(-1)?.seq}, stand-in sent up to ${senderStallMs(s.ssrc).toFixed(0)} ms late, health ${JSON.stringify(last.speakers.find((x) => x.user_id === s.userId))})`;
      expect(ncc, why).toBeGreaterThanOrEqual(0.95);
    }
    // cross-talk: alice's stream does not resemble bob's source or the tone
    expect(alignedNcc(bus.timeline(ids.alice!, false, from), mono48k(SOURCES.bob), -480, 4800).ncc).toBeLessThan(0.3);
    expect(alignedNcc(bus.timeline(ids.bob!, false, from), mono48k(SOURCES.tone), -480, 4800).ncc).toBeLessThan(0.3);
    console.log(`NCC ${JSON.stringify(results)}; packets held for a late op 5: ${(last.held ?? 0) - (before?.held ?? 0)}`);
    // voice.health at least once per second while connected
    const during = bus.health.filter((h) => h.at >= start);
    const seconds = (performance.now() - start) / 1000;
    expect(during.length).toBeGreaterThanOrEqual(Math.floor(seconds) - 1);
    expect(last.speakers.length).toBe(3);
    expect(last.loss_pct).toBe(0);
    expect(last.unmapped).toBe(0);
    // voice.state.connected carries the ssrc → user map from Speaking op 5
    const map = bus.states.at(-1)!.ssrc_map;
    for (const s of speakers) expect(map[String(s.ssrc)]).toBe(s.userId);
  });

  it('holds the packets a speaker sends before its op 5 (80 ms late, inside the hold) and publishes from the first one', async () => {
    const info = standin.speakers.join({ name: 'late-in', audio: SOURCES.carol });
    const before = await bus.nextHealth();
    const from = bus.pcm.length;
    const op5 = standin.faults.delaySpeaking('late-in', 80);
    await standin.speakers.play('late-in');
    const report = await op5;
    await passPublished([info]);
    const after = await bus.nextHealth();
    const firstSent = standin.sendLog.entries({ ssrc: info.ssrc })[0]!;
    expect(report).toMatchObject({ sent: true, firstSequence: firstSent.sequence });
    const mine = bus.pcm.slice(from).filter((f) => f.userId === info.userId);
    expect(mine[0]?.seq).toBe(firstSent.sequence);
    expect(hex(relay.of(bus.relaySsrc(info.userId))[0]?.payload)).toBe(hex(produced.get(info.userId)![0]!.opus));
    console.log(`op 5 ${report.afterFirstPacketMs.toFixed(0)} ms after the first packet (${report.packetsBefore} packets before it); held ${after.held! - before.held!}, unmapped ${after.unmapped! - before.unmapped!}`);
    expect(after.held! - before.held!).toBeGreaterThanOrEqual(1);
    expect(after.unmapped! - before.unmapped!).toBe(0);
    expect(alignedNcc(bus.timeline(info.userId, false, from), mono48k(SOURCES.carol), -480, 4800).ncc).toBeGreaterThanOrEqual(0.95);
  }, 30_000);

  it('drops and counts what waited beyond the hold when op 5 comes 600 ms late; the rest is published in order', async () => {
    const info = standin.speakers.join({ name: 'late-out', audio: SOURCES.alice });
    const before = await bus.nextHealth();
    const from = bus.pcm.length;
    const op5 = standin.faults.delaySpeaking('late-out', 600);
    await standin.speakers.play('late-out');
    const report = await op5;
    await passPublished([info]);
    const after = await bus.nextHealth();
    const lost = after.unmapped! - before.unmapped!;
    const held = after.held! - before.held!;
    const firstSent = standin.sendLog.entries({ ssrc: info.ssrc })[0]!;
    const mine = bus.pcm.slice(from).filter((f) => f.userId === info.userId);
    console.log(`op 5 ${report.afterFirstPacketMs.toFixed(0)} ms after the first packet (${report.packetsBefore} packets before it); unmapped ${lost}, held ${held}, first published seq +${seqDistance(mine[0]!.seq, firstSent.sequence)}`);
    expect(report.sent).toBe(true);
    expect(lost).toBeGreaterThan(0);
    expect(held).toBeGreaterThanOrEqual(1);
    // exactly the packets counted as unmapped are missing at the start; nothing after them is
    expect(seqDistance(mine[0]!.seq, firstSent.sequence)).toBe(lost);
    const frames = produced.get(info.userId)!;
    expect(hex(relay.of(bus.relaySsrc(info.userId))[0]?.payload)).toBe(hex(frames[lost]!.opus));
    const steps = mine.slice(1).map((f, i) => seqDistance(f.seq, mine[i]!.seq));
    expect(steps.every((d) => d === 1)).toBe(true);
    const lag = -lost * 960;
    expect(alignedNcc(bus.timeline(info.userId, false, from), mono48k(SOURCES.alice), lag - 480, lag + 480).ncc).toBeGreaterThanOrEqual(0.95);
  }, 30_000);

  it('reports loss and jitter matching the stand-in send log (5 % loss, 40 ms jitter) and keeps output continuous', async () => {
    const info = standin.speakers.join({ name: 'lossy', audio: JFK, impairment: { loss: 0.05, jitterMs: 40 } });
    await standin.speakers.play('lossy');
    // every audio frame the speaker produced (sent or lost) comes out, decoded or concealed
    const audio = produced.get(info.userId)!.filter((f) => !f.silence);
    await passPublished([info]);
    await bus.settle(() => audio.every((f) => bus.published(info.userId, f.timestamp)), 2000);
    const h = (await bus.nextHealth()).speakers.find((s) => s.user_id === info.userId)!;
    const log = standin.sendLog.entries({ ssrc: info.ssrc });
    const producedLoss = (100 * log.filter((e) => e.dropped).length) / log.length;
    console.log(`loss: reported ${h.loss_pct.toFixed(2)} % vs sent ${producedLoss.toFixed(2)} %; jitter reported ${h.jitter_ms.toFixed(2)} ms vs sent ${sentJitterMs(log).toFixed(2)} ms; concealed ${h.concealed}, late ${h.late}; stand-in sent up to ${senderStallMs(info.ssrc).toFixed(0)} ms late`);
    expect(Math.abs(h.loss_pct - producedLoss)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(h.jitter_ms - sentJitterMs(log))).toBeLessThanOrEqual(5);
    const missing = log.filter((e) => !e.silence && !bus.published(info.userId, e.timestamp));
    expect(missing.map((e) => `${e.sequence}${e.dropped ? ' (lost)' : ''}`)).toEqual([]);
    const { ncc } = alignedNcc(bus.timeline(info.userId), mono48k(JFK), -480, 4800);
    console.log(`lossy NCC ${ncc.toFixed(4)}`);
    expect(ncc).toBeGreaterThanOrEqual(0.8);
  }, 60_000);

  it('estimates a speaker’s clock skew: a sender whose 20 ms frames take 500 ppm longer reads ≈ −500 ppm', async () => {
    const info = standin.speakers.join({ name: 'drifty', audio: JFK, impairment: { driftPpm: 500 } });
    await standin.speakers.play('drifty');
    await passPublished([info]);
    const h = (await bus.nextHealth()).speakers.find((s) => s.user_id === info.userId)!;
    console.log(`clock skew: reported ${h.clock_skew_ppm.toFixed(1)} ppm for a +500 ppm slow sender; stand-in sent up to ${senderStallMs(info.ssrc).toFixed(0)} ms late`);
    expect(h.clock_skew_ppm).toBeGreaterThan(-600);
    expect(h.clock_skew_ppm).toBeLessThan(-400);
  }, 60_000);

  it('publishes a reordering speaker’s frames in sequence order', async () => {
    const info = standin.speakers.join({ name: 'shuffled', audio: SOURCES.carol, impairment: { reorder: 0.15 } });
    const from = bus.pcm.length;
    await standin.speakers.play('shuffled');
    await passPublished([info]);
    const seqs = bus.pcm.slice(from).filter((f) => f.userId === info.userId).map((f) => f.seq);
    expect(seqs.length).toBeGreaterThan(100);
    // In order: every step moves forward. Continuity is checked loosely: on a loaded 2-core machine an
    // event-loop stall can make a packet late, which the jitter buffer drops and counts.
    const steps = seqs.slice(1).map((s, i) => (s - seqs[i]! + 65536) % 65536);
    for (const [i, step] of steps.entries()) {
      expect(step, `step at ${i + 1}`).toBeGreaterThanOrEqual(1);
      expect(step, `step at ${i + 1}`).toBeLessThan(32768);
    }
    expect(steps.filter((x) => x === 1).length / steps.length).toBeGreaterThanOrEqual(0.95);
    const h = (await bus.nextHealth()).speakers.find((s) => s.user_id === info.userId)!;
    expect(h.reordered).toBeGreaterThan(0);
    expect(alignedNcc(bus.timeline(info.userId), mono48k(SOURCES.carol), -480, 4800).ncc).toBeGreaterThanOrEqual(0.95);
  }, 60_000);

  it('speaks voice.play.pcm.out frames into the channel (stand-in receives them, NCC ≥ 0.9)', async () => {
    const botFrames: { timestamp: number; opus: Uint8Array }[] = [];
    const onFrame = (f: { header: { timestamp: number }; frame: Uint8Array }) => botFrames.push({ timestamp: f.header.timestamp, opus: f.frame.slice() });
    standin.voice.on('clientFrame', onFrame);
    const [l, r] = toStereo48k(SOURCES.carol);
    const frames = Math.floor(l.length / 960);
    for (let k = 0; k < frames; k++) {
      const pcm = new Int16Array(1920);
      for (let i = 0; i < 960; i++) {
        pcm[2 * i] = Math.round(l[k * 960 + i]! * 32767);
        pcm[2 * i + 1] = Math.round(r[k * 960 + i]! * 32767);
      }
      bus.publish('voice.play.pcm.out', { session_id: 'it-1', seq: k, format: { rate_hz: 48000, channels: 2, codec: 'pcm_s16le' }, last: k === frames - 1, attachment: 0 }, [new Uint8Array(pcm.buffer)]);
    }
    await bus.waitFor(() => botFrames.length >= frames, 15_000, 'the bot’s frames at the stand-in');
    standin.voice.off('clientFrame', onFrame);
    const dec = new RefOpus(48000, 2);
    const out = new Float32Array(botFrames.length * 960);
    const ts0 = botFrames[0]!.timestamp;
    for (const f of botFrames) {
      if (f.opus.length === 3 && f.opus[0] === 0xf8) continue;
      const b = dec.decode(Buffer.from(f.opus));
      const s = new Int16Array(b.buffer, b.byteOffset, b.byteLength / 2);
      const at = ((f.timestamp - ts0) >>> 0);
      for (let i = 0; i < 960 && at + i < out.length; i++) out[at + i] = (s[2 * i]! + s[2 * i + 1]!) / 65536;
    }
    const { ncc } = alignedNcc(out, mono48k(SOURCES.carol), -480, 4800);
    console.log(`playback NCC ${ncc.toFixed(4)} over ${botFrames.length} frames`);
    expect(ncc).toBeGreaterThanOrEqual(0.9);
    expect(bus.errors.filter((e) => e.src === 'discord-voice-access')).toEqual([]);
  }, 60_000);

  for (const code of [4015, 1006]) {
    it(`recovers after the voice socket closes with ${code}: audio flows again within 2 s (NCC ≥ 0.9)`, async () => {
      const tone = standin.speakers.list().find((s) => s.name === 'tone')!;
      const pass = producedCount(tone.userId);
      const play = standin.speakers.play('tone');
      await flowing(tone.userId, bus.pcm.length, 'PCM before the fault');
      const faultAt = performance.now();
      const statesBefore = bus.states.length;
      expect(standin.faults.closeVoice(code)).toBe(1);
      const from = bus.pcm.length;
      await bus.waitFor(() => bus.pcm.slice(from).some((f) => f.userId === tone.userId && !f.concealed && performance.now() - faultAt > 50), 2000, 'PCM after the fault');
      console.log(`${code}: audio again after ${(performance.now() - faultAt).toFixed(0)} ms`);
      await play;
      await passPublished([{ userId: tone.userId, from: pass }]);
      const seg = bus.timeline(tone.userId, false, from);
      const { ncc } = alignedNcc(seg, mono48k(SOURCES.tone), -48000 * 3 + seg.length - 480, 480);
      expect(ncc).toBeGreaterThanOrEqual(0.9);
      // the voice socket resumed (reconnecting → connected) within the same session
      const seen = bus.states.slice(statesBefore);
      expect(seen.map((s) => s.status)).toContain('reconnecting');
      expect(seen.at(-1)!.status).toBe('connected');
      expect(seen.every((s) => s.session_id === 'it-1')).toBe(true);
    }, 30_000);
  }

  it('recovers after a 1 s UDP black-hole: audio flows again within 2 s of the end (NCC ≥ 0.9)', async () => {
    const alice = standin.speakers.list().find((s) => s.name === 'alice')!;
    const pass = producedCount(alice.userId);
    const play = standin.speakers.play('alice');
    await flowing(alice.userId, bus.pcm.length, 'PCM before the black-hole');
    standin.faults.dropUdp(1000);
    const healed = performance.now() + 1000;
    await bus.waitFor(() => !standin.voice.udp.blocked, 3000, 'the end of the black-hole');
    const from = bus.pcm.length;
    await bus.waitFor(() => bus.pcm.slice(from).some((f) => f.userId === alice.userId && !f.concealed), 2000, 'PCM after the black-hole');
    console.log(`UDP black-hole: audio again ${(performance.now() - healed).toFixed(0)} ms after it ended`);
    await play;
    await passPublished([{ userId: alice.userId, from: pass }]);
    const seg = bus.timeline(alice.userId, false, from);
    const src = mono48k(SOURCES.alice);
    const { ncc } = alignedNcc(seg, src, -src.length + seg.length - 480, 480);
    expect(ncc).toBeGreaterThanOrEqual(0.9);
    expect(bus.health.at(-1)!.state).not.toBe('STOPPED');
  }, 30_000);

  it('survives malformed, bad-tag and unmapped packets mid-stream and counts them (unmapped once they age out of the hold)', async () => {
    const bob = standin.speakers.list().find((s) => s.name === 'bob')!;
    const before = await bus.nextHealth();
    const from = bus.pcm.length;
    const pass = producedCount(bob.userId);
    const play = standin.speakers.play('bob');
    await flowing(bob.userId, from, 'bob’s PCM');
    for (const kind of ['truncated', 'header-only', 'bad-tag', 'bad-version', 'garbage'] as const) standin.faults.sendMalformed({ kind, ssrc: bob.ssrc, count: 3 });
    standin.faults.sendFromUnmappedSsrc(5);
    await play;
    await passPublished([{ userId: bob.userId, from: pass }]);
    const h = await bus.nextHealth();
    // truncated, header-only, bad-tag and bad-version: 12; random garbage is malformed or ignored
    const bad = h.malformed_packets + h.decrypt_errors - (before.malformed_packets + before.decrypt_errors);
    expect(bad).toBeGreaterThanOrEqual(12);
    expect(bad).toBeLessThanOrEqual(15);
    expect(h.unmapped! - before.unmapped!).toBe(5);
    expect(h.held! - before.held!).toBe(0);
    expect(alignedNcc(bus.timeline(bob.userId, false, from), mono48k(SOURCES.bob), -480, 4800).ncc).toBeGreaterThanOrEqual(0.95);
  }, 30_000);

  it('reports status "dave_required" after close code 4017, then reconnects through a rejoin', async () => {
    const before = bus.states.length;
    expect(standin.faults.closeVoice(4017)).toBe(1);
    await bus.waitFor(() => bus.states.slice(before).some((s) => s.status === 'dave_required'), 5000, 'status dave_required');
    await bus.waitFor(() => bus.states.at(-1)?.status === 'connected', 10_000, 'connected again after the rejoin');
  }, 30_000);

  it('reports status "kicked" after close code 4014 and does not rejoin', async () => {
    expect(standin.faults.closeVoice(4014)).toBe(1);
    await bus.waitFor(() => bus.states.at(-1)?.status === 'kicked', 5000, 'status kicked');
    // the kicked session is released: no more voice.health from it. A rejoin would start at once (op 4,
    // a new voice socket): two health periods later (an absence, so a fixed wait), none did
    const kicked = bus.states.at(-1)!;
    expect(kicked.reason).toMatch(/4014/);
    const n = bus.health.length;
    await new Promise((r) => setTimeout(r, 2100));
    expect(bus.health.slice(n).filter((h) => h.session_id === kicked.session_id)).toEqual([]);
    expect(bus.states.at(-1)!.status).toBe('kicked');
    expect(standin.voice.sessions()).toEqual([]);
    // a new join after the kick starts a fresh connection
    bus.publish('voice.control.join', { guild_id: standin.guildId, channel_id: standin.voiceChannelId, session_id: 'it-2', prefer_opus: true, self_mute: false, self_deaf: false });
    await bus.waitFor(() => bus.states.some((s) => s.session_id === 'it-2' && s.status === 'connected'), 10_000, 'the rejoin after a kick');
  }, 30_000);

  it('answers a join to a guild outside the providers.yml allow-list with forbidden and keeps its session', async () => {
    const before = bus.states.length;
    bus.publish('voice.control.join', { guild_id: '1100000000000000001', channel_id: standin.voiceChannelId, session_id: 'it-denied', prefer_opus: true, self_mute: false, self_deaf: false });
    await bus.waitFor(() => bus.errors.some((e) => e.src === 'discord-voice-access' && (e.payload as { code: string }).code === 'forbidden'), 5000, 'the forbidden error');
    // joins are handled in order: once a later (idempotent) join is answered, the refused one has no state to come
    const n = bus.states.length;
    bus.publish('voice.control.join', { guild_id: standin.guildId, channel_id: standin.voiceChannelId, session_id: 'it-2', prefer_opus: true, self_mute: false, self_deaf: false });
    await bus.waitFor(() => bus.states.slice(n).some((s) => s.session_id === 'it-2'), 5000, 'the answer to a later join');
    expect(bus.states.slice(before).some((s) => s.session_id === 'it-denied')).toBe(false);
    expect(bus.states.at(-1)).toMatchObject({ session_id: 'it-2', status: 'connected' });
  }, 15_000);
});
