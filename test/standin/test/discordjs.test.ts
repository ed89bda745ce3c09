import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWavFile } from '../src/audio/wav.ts';
import { toStereo48k } from '../src/audio/resample.ts';
import { startStandin } from '../src/standin.ts';
import type { Standin } from '../src/standin.ts';
import { alignedNcc, monoFromS16Stereo } from '../src/testing/ncc.ts';
import { startProbe } from './harness.ts';

const FIXTURES = fileURLToPath(new URL('../../fixtures/audio/', import.meta.url));
const VOICES = [
  { name: 'jfk', file: join(FIXTURES, 'jfk_16k.wav') },
  { name: 'alice', file: join(FIXTURES, 'alice_22k.wav') },
  { name: 'bob', file: join(FIXTURES, 'bob_16k_stereo.wav') },
  { name: 'carol', file: join(FIXTURES, 'carol_48k.wav') },
];

function sourceMono(file: string): Float32Array {
  const [l, r] = toStereo48k(readWavFile(file));
  const out = new Float32Array(l.length);
  for (let i = 0; i < l.length; i++) out[i] = ((l[i] as number) + (r[i] as number)) / 2;
  return out;
}

describe('real discord.js + @discordjs/voice against the stand-in', () => {
  let standin: Standin;
  beforeAll(async () => {
    standin = await startStandin({ speakers: VOICES });
  });
  afterAll(async () => {
    await standin?.close();
  });

  it('receiver.subscribe() decodes every simulated speaker with NCC >= 0.95 against its source', async () => {
    const out = mkdtempSync(join(tmpdir(), 'standin-probe-'));
    const speakers = standin.speakers.list();
    const probe = startProbe(standin, { PROBE_OUT: out, PROBE_USERS: speakers.map((s) => s.userId).join(','), PROBE_TIMEOUT_MS: '60000' });
    try {
      await probe.waitFor((e) => e.event === 'joined', 30_000);
      await Promise.all(speakers.map((s) => standin.speakers.play(s.name)));
      const done = await probe.waitFor((e) => e.event === 'done', 20_000);
      const frames = done.frames as Record<string, number>;
      for (const s of speakers) {
        const produced = standin.sendLog.entries({ ssrc: s.ssrc }).length;
        expect(frames[s.userId], `${s.name} frames`).toBe(produced);
        const received = monoFromS16Stereo(readFileSync(join(out, `${s.userId}.pcm`)));
        const source = sourceMono(VOICES.find((v) => v.name === s.name)?.file as string);
        const { ncc, lag } = alignedNcc(received, source, -480, 4800);
        console.log(`${s.name}: ncc ${ncc.toFixed(4)} at lag ${lag} samples, ${frames[s.userId]} frames`);
        expect(ncc, s.name).toBeGreaterThanOrEqual(0.95);
      }
    } finally {
      probe.kill();
      rmSync(out, { recursive: true, force: true });
    }
  });
});

function writePcmS16Stereo(path: string, file: string): void {
  const [l, r] = toStereo48k(readWavFile(file));
  const out = Buffer.alloc(l.length * 4);
  for (let i = 0; i < l.length; i++) {
    out.writeInt16LE(Math.round(Math.max(-1, Math.min(1, l[i] as number)) * 32767), i * 4);
    out.writeInt16LE(Math.round(Math.max(-1, Math.min(1, r[i] as number)) * 32767), i * 4 + 2);
  }
  writeFileSync(path, out);
}

/** Mono of a recorded WAV with leading digital silence cut (keeps 960 samples before the first sound). */
function recordedMono(path: string): Float32Array {
  const audio = readWavFile(path);
  const [l, r] = [audio.channels[0] as Float32Array, (audio.channels[1] ?? audio.channels[0]) as Float32Array];
  let first = 0;
  while (first < l.length && l[first] === 0 && r[first] === 0) first++;
  const start = Math.max(0, first - 960);
  const out = new Float32Array(l.length - start);
  for (let i = 0; i < out.length; i++) out[i] = ((l[start + i] as number) + (r[start + i] as number)) / 2;
  return out;
}

describe('discord.js in xchacha20 mode, with faults injected mid-stream', () => {
  it('stays Ready and still decodes both speakers (NCC >= 0.95) through unknown ops, malformed and unmapped-ssrc packets', async () => {
    const standin = await startStandin({ speakers: VOICES.filter((v) => v.name === 'bob' || v.name === 'carol'), modes: ['aead_xchacha20_poly1305_rtpsize'] });
    const out = mkdtempSync(join(tmpdir(), 'standin-probe-'));
    const speakers = standin.speakers.list();
    const probe = startProbe(standin, { PROBE_OUT: out, PROBE_USERS: speakers.map((s) => s.userId).join(','), PROBE_TIMEOUT_MS: '60000' });
    try {
      await probe.waitFor((e) => e.event === 'joined', 30_000);
      const session = standin.voice.sessions()[0];
      expect(session?.mode).toBe('aead_xchacha20_poly1305_rtpsize');
      const passes = Promise.all(speakers.map((s) => standin.speakers.play(s.name)));
      await new Promise((r) => setTimeout(r, 500));
      expect(standin.faults.sendUnknownOps()).toBe(8);
      expect(standin.faults.sendFromUnmappedSsrc(5)).toBe(5);
      for (const kind of ['truncated', 'header-only', 'bad-version', 'garbage'] as const) standin.faults.sendMalformed({ kind, count: 3 });
      await passes;
      const done = await probe.waitFor((e) => e.event === 'done', 20_000);
      expect(done.status).toBe('ready');
      expect(probe.events.filter((e) => e.event === 'stream-error' || e.event === 'connection-error')).toEqual([]);
      for (const s of speakers) {
        const received = monoFromS16Stereo(readFileSync(join(out, `${s.userId}.pcm`)));
        const { ncc } = alignedNcc(received, sourceMono(VOICES.find((v) => v.name === s.name)?.file as string), -480, 4800);
        expect(ncc, s.name).toBeGreaterThanOrEqual(0.95);
      }
    } finally {
      probe.kill();
      rmSync(out, { recursive: true, force: true });
      await standin.close();
    }
  });
});

describe('discord.js close-code behaviour against the stand-in', () => {
  it('after close 4015 the client resumes (op 7 → op 9) and keeps receiving', async () => {
    const standin = await startStandin({ speakers: VOICES.filter((v) => v.name === 'carol') });
    const out = mkdtempSync(join(tmpdir(), 'standin-probe-'));
    const [carol] = standin.speakers.list();
    const probe = startProbe(standin, { PROBE_OUT: out, PROBE_USERS: carol?.userId as string, PROBE_TIMEOUT_MS: '60000' });
    try {
      await probe.waitFor((e) => e.event === 'joined', 30_000);
      const session = standin.voice.sessions()[0];
      expect(standin.faults.closeVoice(4015)).toBe(1);
      for (let i = 0; i < 100 && standin.voice.counters.resumes === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(standin.voice.counters.resumes).toBe(1);
      expect(standin.voice.sessions()).toEqual([session]);
      await standin.speakers.play('carol');
      const done = await probe.waitFor((e) => e.event === 'done', 20_000);
      expect((done.frames as Record<string, number>)[carol?.userId as string]).toBe(standin.sendLog.entries({ ssrc: carol?.ssrc as number }).length);
    } finally {
      probe.kill();
      rmSync(out, { recursive: true, force: true });
      await standin.close();
    }
  });

  it('after 1006 (socket dropped) the client resumes; after 4017 it rejoins through op 4 with a new voice session', async () => {
    const standin = await startStandin({});
    const out = mkdtempSync(join(tmpdir(), 'standin-probe-'));
    const probe = startProbe(standin, { PROBE_OUT: out, PROBE_USERS: '', PROBE_TIMEOUT_MS: '60000' });
    try {
      await probe.waitFor((e) => e.event === 'joined', 30_000);
      const first = standin.voice.sessions()[0];
      expect(standin.faults.closeVoice(1006)).toBe(1);
      for (let i = 0; i < 100 && standin.voice.counters.resumes === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(standin.voice.counters.resumes).toBe(1);
      expect(standin.voice.sessions()).toEqual([first]);
      const mark = probe.events.length;
      expect(standin.faults.closeVoice(4017)).toBe(1);
      await probe.waitFor((e) => probe.events.indexOf(e) >= mark && e.event === 'state' && e.to === 'ready', 15_000);
      // VoiceConnection re-emits 'connecting' for each networking sub-state; collapse repeats.
      const transitions = probe.events.slice(mark).filter((e) => e.event === 'state').map((e) => e.to).filter((to, i, all) => i === 0 || to !== all[i - 1]);
      expect(transitions).toEqual(['signalling', 'connecting', 'ready']);
      const [second] = standin.voice.sessions();
      expect(second).toBeDefined();
      expect(second).not.toBe(first);
      expect(second?.ssrc).not.toBe(first?.ssrc);
    } finally {
      probe.kill();
      rmSync(out, { recursive: true, force: true });
      await standin.close();
    }
  });

  it('after close 4014 the client goes Disconnected and does not rejoin', async () => {
    const standin = await startStandin({});
    const out = mkdtempSync(join(tmpdir(), 'standin-probe-'));
    const probe = startProbe(standin, { PROBE_OUT: out, PROBE_USERS: '', PROBE_TIMEOUT_MS: '60000' });
    try {
      await probe.waitFor((e) => e.event === 'joined', 30_000);
      expect(standin.faults.closeVoice(4014)).toBe(1);
      const disconnected = await probe.waitFor((e) => e.event === 'state' && e.to === 'disconnected', 10_000);
      expect(disconnected.closeCode).toBe(4014);
      await new Promise((r) => setTimeout(r, 1500));
      const after = probe.events.slice(probe.events.indexOf(disconnected) + 1);
      expect(after.filter((e) => e.event === 'state')).toEqual([]);
      expect(standin.voice.sessions()).toEqual([]);
    } finally {
      probe.kill();
      rmSync(out, { recursive: true, force: true });
      await standin.close();
    }
  });
});

describe('--record', () => {
  it('writes one WAV per participant: the bot\'s decrypted audio and each speaker, each NCC >= 0.95 against its source', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'standin-record-'));
    const standin = await startStandin({ speakers: VOICES.filter((v) => v.name === 'carol'), recordDir: dir });
    const out = mkdtempSync(join(tmpdir(), 'standin-probe-'));
    const pcm = join(out, 'alice.pcm');
    const alice = VOICES.find((v) => v.name === 'alice')?.file as string;
    writePcmS16Stereo(pcm, alice);
    const probe = startProbe(standin, { PROBE_OUT: out, PROBE_USERS: '', PROBE_PLAY_PCM: pcm, PROBE_TIMEOUT_MS: '60000' });
    let written: string[] = [];
    try {
      await probe.waitFor((e) => e.event === 'joined', 30_000);
      await Promise.all([standin.speakers.play('carol'), probe.waitFor((e) => e.event === 'played', 20_000)]);
      await new Promise((r) => setTimeout(r, 300));
      expect(standin.voice.counters.decryptFailures).toBe(0);
    } finally {
      probe.kill();
      rmSync(out, { recursive: true, force: true });
      written = await standin.close();
    }
    expect(written).toHaveLength(2);
    const bot = written.find((p) => p.includes('standin-bot-')) as string;
    const carol = written.find((p) => p.includes('carol-')) as string;
    expect(alignedNcc(recordedMono(bot), sourceMono(alice), -960, 4800).ncc).toBeGreaterThanOrEqual(0.95);
    expect(alignedNcc(recordedMono(carol), sourceMono(VOICES.find((v) => v.name === 'carol')?.file as string), -960, 4800).ncc).toBeGreaterThanOrEqual(0.95);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('DAVE-capable client against dave_protocol_version 0', () => {
  it('a client left at daveEncryption: true identifies with max_dave_protocol_version 1 and still receives in the clear', async () => {
    const standin = await startStandin({ speakers: VOICES.filter((v) => v.name === 'carol') });
    const out = mkdtempSync(join(tmpdir(), 'standin-probe-'));
    const [carol] = standin.speakers.list();
    const probe = startProbe(standin, { PROBE_OUT: out, PROBE_USERS: carol?.userId as string, PROBE_DAVE: '1', PROBE_TIMEOUT_MS: '60000' });
    try {
      await probe.waitFor((e) => e.event === 'joined', 30_000);
      expect(standin.voice.sessions()[0]?.maxDaveProtocolVersion).toBe(1);
      await standin.speakers.play('carol');
      const done = await probe.waitFor((e) => e.event === 'done', 20_000);
      expect((done.frames as Record<string, number>)[carol?.userId as string]).toBe(standin.sendLog.entries({ ssrc: carol?.ssrc as number }).length);
      const received = monoFromS16Stereo(readFileSync(join(out, `${carol?.userId}.pcm`)));
      expect(alignedNcc(received, sourceMono(VOICES.find((v) => v.name === 'carol')?.file as string), -480, 4800).ncc).toBeGreaterThanOrEqual(0.95);
    } finally {
      probe.kill();
      rmSync(out, { recursive: true, force: true });
      await standin.close();
    }
  });
});
