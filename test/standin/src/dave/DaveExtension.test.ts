/**
 * End to end: the real, unmodified discord.js 14 + @discordjs/voice 0.19 bot joins the stand-in with
 * DAVE on; simulated speakers are davey participants. Speech is checked at the Opus level.
 */
import { createAudioPlayer, createAudioResource, entersState, AudioPlayerStatus, StreamType } from '@discordjs/voice';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandin, type Standin } from '../standin.ts';
import { createDaveExtension, type DaveExtension } from './index.ts';
import { collect, compareOpus, joinBot, ReceiveTap, speechLike, type Bot } from './e2eSupport.ts';
import { DaveOp, OPUS_SILENCE } from './opcodes.ts';
import { opusTone } from './testOpus.ts';
import { hasBinary, requires } from '../../../support/requires.ts';
import { until } from '../../../support/until.ts';

// The stand-in makes its self-signed voice certificate with openssl.
const HAVE_OPENSSL = requires('openssl', hasBinary('openssl', ['version']), 'apt-get install openssl');

let standin: Standin;
let dave: DaveExtension;
let bot: Bot;
const sent = new Map<string, Uint8Array[]>();
const log: string[] = [];
const opsTo = new Map<string, number[]>();

function groupSettled(size: number): boolean {
  const g = dave.server.groups.get(standin.voiceChannelId);
  if (g === undefined || g.status !== 'stable' || g.groupMembers.length !== size) return false;
  return [...dave.participants.values()].every((p) => p.ready && p.epoch === g.epoch);
}

beforeAll(async () => {
  if (!HAVE_OPENSSL) return;
  dave = createDaveExtension({ readyTimeoutMs: 2000 });
  standin = await startStandin({
    extensions: [dave],
    speakers: [
      { name: 'alice', audio: speechLike(2, 180) },
      { name: 'bob', audio: speechLike(2, 260) },
    ],
    log: (m) => log.push(m),
  });
  standin.speakers.on('frame', (f) => {
    const list = sent.get(f.speaker.userId) ?? [];
    list.push(f.opus);
    sent.set(f.speaker.userId, list);
  });
  dave.server.on('sent', (userId, op) => opsTo.set(userId, [...(opsTo.get(userId) ?? []), op]));
  bot = await joinBot(standin);
  await until('bot and two speakers in one DAVE group', () => groupSettled(3), 15_000);
}, 60_000);

afterAll(async () => {
  await bot?.close();
  await standin?.close();
});

describe.skipIf(!HAVE_OPENSSL)('DaveExtension with the real @discordjs/voice', () => {
  it('negotiates DAVE v1 and the bot joins the group through ops 25/27/28/29/30', () => {
    const g = dave.server.groups.get(standin.voiceChannelId)!;
    expect(g.groupMembers).toContain(bot.userId);
    expect(g.epoch).toBeGreaterThanOrEqual(1n);
    const opsToBot = opsTo.get(bot.userId) ?? [];
    expect(opsToBot).toContain(DaveOp.MlsExternalSender);
    expect(opsToBot.some((op) => op === DaveOp.MlsWelcome || op === DaveOp.MlsAnnounceCommitTransition)).toBe(true);
    expect(bot.debug.some((m) => m.includes('[DAVE]'))).toBe(true);
  });

  it("the library's own receiver gets both speakers end-to-end decrypted (decoded corr >= 0.95)", async () => {
    const alice = standin.speakers.get('alice')!;
    const bobS = standin.speakers.get('bob')!;
    const got = { alice: collect(bot.connection, alice.userId), bob: collect(bot.connection, bobS.userId) };
    const wire: { speech: number; speechPlain: number; silence: number; silenceChanged: number } = { speech: 0, speechPlain: 0, silence: 0, silenceChanged: 0 };
    const onWire = (_u: string, plain: Uint8Array, w: Uint8Array): void => {
      const isSilence = Buffer.from(plain).equals(OPUS_SILENCE);
      if (isSilence) {
        wire.silence++;
        if (!Buffer.from(w).equals(OPUS_SILENCE)) wire.silenceChanged++;
      } else {
        wire.speech++;
        if (Buffer.from(w).equals(Buffer.from(plain)) || Buffer.from(w).subarray(-2).toString('hex') !== 'fafa') wire.speechPlain++;
      }
    };
    dave.on('speakerFrame', onWire);
    sent.clear();
    await Promise.all([standin.speakers.play('alice'), standin.speakers.play('bob')]);
    await new Promise((r) => setTimeout(r, 300));
    dave.off('speakerFrame', onWire);
    const ra = compareOpus(sent.get(alice.userId) ?? [], got.alice.frames);
    const rb = compareOpus(sent.get(bobS.userId) ?? [], got.bob.frames);
    console.log('speaker → bot', { alice: ra, bob: rb, wire });
    expect(ra.corr).toBeGreaterThanOrEqual(0.95);
    expect(rb.corr).toBeGreaterThanOrEqual(0.95);
    expect(ra.compared).toBeGreaterThan(80);
    expect(wire.speech).toBeGreaterThan(150);
    expect(wire.speechPlain).toBe(0);
    expect(wire.silence).toBeGreaterThanOrEqual(10);
    expect(wire.silenceChanged).toBe(0);
    expect([...got.alice.errors, ...got.bob.errors]).toEqual([]);
  });

  it("the bot's playback is E2EE on the wire and a speaker's DAVE session decrypts it for the recording (corr >= 0.9)", async () => {
    const played = opusTone(350, 75);
    const recorded: Uint8Array[] = [];
    const wire = { speech: 0, plainOnWire: 0, silence: 0 };
    const onRecord = (f: { session: { userId: string }; frame: Uint8Array }): void => {
      if (f.session.userId === bot.userId) recorded.push(f.frame);
    };
    const onClient = (_u: string, w: Uint8Array, plain: Uint8Array | null): void => {
      if (Buffer.from(w).equals(OPUS_SILENCE)) wire.silence++;
      else {
        wire.speech++;
        if (plain !== null && Buffer.from(plain).equals(Buffer.from(w))) wire.plainOnWire++;
      }
    };
    standin.voice.on('clientFrame', onRecord);
    dave.on('clientFrame', onClient);
    const player = createAudioPlayer();
    bot.connection.subscribe(player);
    player.play(createAudioResource(Readable.from(played), { inputType: StreamType.Opus }));
    await entersState(player, AudioPlayerStatus.Playing, 5000);
    await entersState(player, AudioPlayerStatus.Idle, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    standin.voice.off('clientFrame', onRecord);
    dave.off('clientFrame', onClient);
    player.stop();
    const r = compareOpus(played, recorded);
    console.log('bot → recording', { r, wire, decryptFailed: dave.counters.clientFramesFailed });
    expect(r.corr).toBeGreaterThanOrEqual(0.9);
    expect(r.compared).toBeGreaterThanOrEqual(60);
    expect(wire.speech).toBeGreaterThanOrEqual(60);
    expect(wire.plainOnWire).toBe(0);
  });

  describe('membership churn and faults while alice keeps talking', () => {
    let tap: ReceiveTap;
    let aliceId: string;
    const speechSent = (): number => (sent.get(aliceId) ?? []).filter((f) => !Buffer.from(f).equals(OPUS_SILENCE)).length;
    const group = () => dave.server.groups.get(standin.voiceChannelId)!;

    /** Runs `action` while alice talks; returns alice's speech frames the bot's receiver lost. */
    async function window(action: () => Promise<void>): Promise<{ sent: number; received: number; lost: number; ms: number }> {
      const s0 = speechSent();
      const r0 = tap.speech;
      const t0 = Date.now();
      await action();
      await new Promise((r) => setTimeout(r, 600));
      const sentN = speechSent() - s0;
      const recv = tap.speech - r0;
      return { sent: sentN, received: recv, lost: Math.max(0, sentN - recv), ms: Date.now() - t0 };
    }

    beforeAll(() => {
      aliceId = standin.speakers.get('alice')!.userId;
      tap = new ReceiveTap(bot.connection, aliceId);
      void standin.speakers.play('alice', { loop: true, pauseMs: 0 });
    });
    afterAll(() => {
      standin.speakers.stop('alice');
      tap.close();
    });

    it('a third speaker joins and one leaves mid-sentence: ops 27/29/30 flow and the epoch rises', async () => {
      await new Promise((r) => setTimeout(r, 300));
      const e0 = group().epoch;
      const before = (opsTo.get(bot.userId) ?? []).length;
      const join = await window(async () => {
        standin.speakers.join({ name: 'carol', audio: speechLike(2, 220) });
        await until('carol added', () => groupSettled(4) && group().epoch === e0 + 1n, 10_000);
      });
      const carolId = standin.speakers.get('carol')!.userId;
      const leave = await window(async () => {
        standin.speakers.leave('bob');
        await until('bob removed', () => groupSettled(3) && group().epoch === e0 + 2n, 10_000);
      });
      const newOps = (opsTo.get(bot.userId) ?? []).slice(before);
      console.log('churn', { epochs: [e0, group().epoch], join, leave, opsToBot: newOps, opsToCarol: opsTo.get(carolId) });
      expect(group().epoch).toBe(e0 + 2n);
      expect(group().epoch).toBeGreaterThan(1n);
      expect(newOps.filter((op) => op === DaveOp.MlsProposals).length).toBeGreaterThanOrEqual(2);
      expect(newOps.filter((op) => op === DaveOp.MlsAnnounceCommitTransition).length).toBe(2);
      expect(opsTo.get(carolId)).toContain(DaveOp.MlsWelcome);
      expect(join.received).toBeGreaterThan(0);
      expect(leave.received).toBeGreaterThan(0);
      expect(tap.errors).toEqual([]);
    });

    it('fault: corrupted commit to the bot → the library sends op 31, re-initialises and is re-added', async () => {
      const g = group();
      const reports = g.counters.invalidReports;
      const e0 = g.epoch;
      g.faults.corruptCommitFor = bot.userId;
      const w = await window(async () => {
        standin.speakers.join({ name: 'erin', audio: speechLike(1, 300) });
        await until('bot recovered', () => g.counters.invalidReports > reports && groupSettled(4) && g.epoch >= e0 + 2n, 15_000);
      });
      console.log('corrupt commit', { w, epoch: g.epoch, reports: g.counters.invalidReports - reports });
      const r0 = tap.speech;
      await new Promise((r) => setTimeout(r, 500));
      expect(tap.speech - r0).toBeGreaterThan(10);
    });

    it('fault: late execute (op 22 1.5 s after every op 23)', async () => {
      const g = group();
      g.faults.executeDelayMs = 1500;
      const e0 = g.epoch;
      const w = await window(async () => {
        standin.speakers.leave('erin');
        await until('erin removed', () => groupSettled(3) && g.epoch === e0 + 1n, 10_000);
      });
      g.faults.executeDelayMs = 0;
      console.log('late execute', { w });
      expect(w.received).toBeGreaterThan(0);
    });

    it('fault: commit to the bot dropped → library decrypt failures, then its own op 31 recovery', async () => {
      const g = group();
      const reports = g.counters.invalidReports;
      g.faults.dropCommitFor = bot.userId;
      const e0 = g.epoch;
      const w = await window(async () => {
        standin.speakers.join({ name: 'frank', audio: speechLike(1, 320) });
        await until('bot recovered from a missed commit', () => g.counters.invalidReports > reports && groupSettled(4) && g.epoch >= e0 + 2n, 20_000);
      });
      console.log('dropped commit', { w, tolerance: 36 });
      expect(w.lost).toBeGreaterThanOrEqual(30);
      const r0 = tap.speech;
      await new Promise((r) => setTimeout(r, 500));
      expect(tap.speech - r0).toBeGreaterThan(10);
    });

    it('fault: the bot reconnects (same user, new ssrc) and is re-added', async () => {
      const g = group();
      const e0 = g.epoch;
      const ssrcs = standin.voice.sessions().filter((s) => s.userId === bot.userId).map((s) => s.ssrc);
      const w = await window(async () => {
        standin.faults.closeVoice(4006, bot.userId);
        await until('bot re-added', () => groupSettled(4) && g.epoch >= e0 + 1n && standin.voice.sessions().some((s) => s.userId === bot.userId && !ssrcs.includes(s.ssrc) && s.ready), 20_000);
      });
      console.log('reconnect', { w, epochs: [e0, g.epoch] });
      const r0 = tap.speech;
      await new Promise((r) => setTimeout(r, 800));
      console.log('after reconnect', { received: tap.speech - r0, errors: tap.errors.length });
      expect(g.groupMembers).toContain(bot.userId);
    });

    it('library flaw: after a transition-id-0 commit, a missed commit makes decrypt throw after 36 failures (stream dies, no op 31)', async () => {
      const g = group();
      g.faults.zeroTransitionId = true;
      const e0 = g.epoch;
      // 1: a commit announced with transition id 0 that the bot applies (its lastTransitionId becomes 0)
      standin.speakers.join({ name: 'gina', audio: speechLike(1, 340) });
      await until('gina added with transition id 0', () => groupSettled(5) && g.epoch === e0 + 1n, 10_000);
      const reports = g.counters.invalidReports;
      const errors0 = tap.errors.length;
      // 2: the next transition-id-0 commit never reaches the bot
      g.faults.dropCommitFor = bot.userId;
      const w = await window(async () => {
        standin.speakers.leave('frank');
        await until('receive stream error', () => tap.errors.length > errors0, 10_000);
        await new Promise((r) => setTimeout(r, 1000));
      });
      console.log('tid 0 + missed commit', { w, streamErrors: tap.errors.length - errors0, firstError: tap.errors[errors0]?.message, op31: g.counters.invalidReports - reports });
      expect(tap.errors.length).toBeGreaterThan(errors0);
      expect(g.counters.invalidReports).toBe(reports);
      g.faults.zeroTransitionId = false;
    });
  });
});

describe.skipIf(!HAVE_OPENSSL)('DaveExtension without --dave, and a bot alone', () => {
  it('without --dave the bot negotiates version 0: no DAVE ops, speaker frames plain on the wire, still received', async () => {
    const off = createDaveExtension({ enabled: false });
    const s = await startStandin({ extensions: [off], speakers: [{ name: 'olga', audio: speechLike(1, 200) }] });
    const b = await joinBot(s, 'dave-off-bot');
    try {
      const ops: number[] = [];
      off.server.on('sent', (_u, op) => ops.push(op));
      const olga = s.speakers.get('olga')!;
      const frames: Uint8Array[] = [];
      s.speakers.on('frame', (f) => frames.push(f.opus));
      const got = collect(b.connection, olga.userId);
      await s.speakers.play('olga');
      await new Promise((r) => setTimeout(r, 300));
      const r = compareOpus(frames, got.frames);
      expect(r.corr).toBeGreaterThanOrEqual(0.95);
      expect(ops).toEqual([]);
      expect(off.participants.size).toBe(0);
      expect(off.counters.speakerFramesEncrypted).toBe(0);
    } finally {
      await b.close();
      await s.close();
    }
  });

  it('a DAVE bot alone in the channel forms no group and its plain frames are recorded as passthrough', async () => {
    const solo = createDaveExtension({ readyTimeoutMs: 1000 });
    const s = await startStandin({ extensions: [solo], speakers: [] });
    const b = await joinBot(s, 'dave-solo-bot');
    try {
      const recorded: Uint8Array[] = [];
      s.voice.on('clientFrame', (f) => recorded.push(f.frame));
      const played = opusTone(500, 25);
      const player = createAudioPlayer();
      b.connection.subscribe(player);
      player.play(createAudioResource(Readable.from(played), { inputType: StreamType.Opus }));
      await entersState(player, AudioPlayerStatus.Playing, 5000);
      await entersState(player, AudioPlayerStatus.Idle, 10_000);
      await new Promise((r) => setTimeout(r, 300));
      expect(solo.server.groups.get(s.voiceChannelId)?.epoch ?? 0n).toBe(0n);
      expect(compareOpus(played, recorded).corr).toBeGreaterThanOrEqual(0.9);
      expect(solo.counters.clientFramesPassthrough).toBeGreaterThanOrEqual(20);
    } finally {
      await b.close();
      await s.close();
    }
  });
});
