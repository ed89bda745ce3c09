import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hasBinary, requires } from '../../support/requires.ts';
import { OPUS_SILENCE_FRAME, UndocumentedVoiceOp, VoiceOp } from '@promethean/shared/providers/discord';
import { startStandin } from '../src/standin.ts';
import type { Standin } from '../src/standin.ts';
import { RawVoiceClient } from '../src/testing/raw-client.ts';

const CAROL = fileURLToPath(new URL('../../fixtures/audio/carol_48k.wav', import.meta.url));
const JFK = fileURLToPath(new URL('../../fixtures/audio/jfk_16k.wav', import.meta.url));

function connect(standin: Standin, mode?: 'aead_aes256_gcm_rtpsize' | 'aead_xchacha20_poly1305_rtpsize') {
  return RawVoiceClient.connect({ gatewayUrl: standin.gatewayUrl, certPath: standin.certPath, guildId: standin.guildId, channelId: standin.voiceChannelId, ...(mode ? { mode } : {}) });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('voice gateway wire (RawVoiceClient)', () => {
  let standin: Standin;
  let client: RawVoiceClient | undefined;
  beforeAll(async () => {
    standin = await startStandin({ speakers: [{ name: 'carol', file: CAROL }], timeScale: 0.25 });
  });
  afterEach(async () => {
    await client?.close();
    client = undefined;
  });
  afterAll(async () => {
    await standin?.close();
  });

  it('server JSON messages carry seq from 1 upward, and undocumented ops follow Session Description', async () => {
    client = await connect(standin);
    await sleep(250);
    const sequenced = client.messages.filter((m) => typeof m.seq === 'number').map((m) => m.seq as number);
    expect(sequenced[0]).toBe(1);
    expect(sequenced).toEqual(sequenced.map((_, i) => i + 1));
    const ops = client.messages.map((m) => m.op);
    expect(ops.slice(0, 3)).toEqual([VoiceOp.Hello, VoiceOp.Ready, VoiceOp.SessionDescription]);
    expect(ops).toContain(VoiceOp.ClientsConnect);
    expect(ops).toEqual(expect.arrayContaining([UndocumentedVoiceOp.MediaSinkWants, UndocumentedVoiceOp.ClientFlags, UndocumentedVoiceOp.ClientPlatform, UndocumentedVoiceOp.Video]));
    const desc = client.messages.find((m) => m.op === VoiceOp.SessionDescription)?.d as { dave_protocol_version: number; secret_key: number[] };
    expect(desc.dave_protocol_version).toBe(0);
    expect(desc.secret_key).toHaveLength(32);
  });

  it.each(['aead_aes256_gcm_rtpsize', 'aead_xchacha20_poly1305_rtpsize'] as const)('a speaker pass arrives decryptable in %s with op 5 first and five silence frames last', async (mode) => {
    client = await connect(standin, mode);
    const carol = standin.speakers.get('carol');
    standin.sendLog.clear();
    await standin.speakers.play('carol');
    await sleep(250);
    const speaking = client.messages.find((m) => m.op === VoiceOp.Speaking);
    expect(speaking?.d).toEqual({ user_id: carol?.userId, ssrc: carol?.ssrc, speaking: 1 });
    const mine = client.packets.filter((p) => p.header.ssrc === carol?.ssrc);
    expect(mine.length).toBe(standin.sendLog.entries({ ssrc: carol?.ssrc as number }).length);
    expect(mine.every((p) => p.error === undefined)).toBe(true);
    expect(mine.every((p) => p.raw[0] === 0x90 && p.raw[12] === 0xbe && p.raw[13] === 0xde)).toBe(true);
    expect(mine[0]?.header.marker).toBe(true);
    const tail = mine.slice(-5).map((p) => Buffer.from(p.payload as Uint8Array).toString('hex'));
    expect(tail).toEqual(new Array(5).fill(Buffer.from(OPUS_SILENCE_FRAME).toString('hex')));
    const counters = new Set(mine.map((p) => p.raw.readUInt32BE(p.raw.length - 4)));
    expect(counters.size).toBe(mine.length);
  });

  it('decrypts what the client sends (counted per session) and ignores datagrams from unknown ssrcs', async () => {
    client = await connect(standin);
    const before = standin.voice.counters.rtpUnknownSsrc;
    const frames: Uint8Array[] = [];
    standin.voice.on('clientFrame', (f) => frames.push(f.frame));
    for (let i = 0; i < 3; i++) client.sendOpus(OPUS_SILENCE_FRAME);
    client.sendRawUdp(Uint8Array.of(0x80, 0x78, 0, 1, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3));
    await sleep(300);
    expect(frames.map((f) => Buffer.from(f).toString('hex'))).toEqual(['f8fffe', 'f8fffe', 'f8fffe']);
    expect(standin.voice.counters.rtpUnknownSsrc).toBe(before + 1);
  });
});

describe('fault switches', () => {
  let standin: Standin;
  let client: RawVoiceClient | undefined;
  beforeAll(async () => {
    standin = await startStandin({ speakers: [{ name: 'carol', file: CAROL }], timeScale: 0.25 });
  });
  afterEach(async () => {
    await client?.close();
    client = undefined;
  });
  afterAll(async () => {
    await standin?.close();
  });

  it.each([4014, 4015, 4017, 1006])('closeVoice(%i) closes the client socket with that code', async (code) => {
    client = await connect(standin);
    expect(standin.faults.closeVoice(code, client.userId)).toBe(1);
    expect(await client.closed()).toBe(code);
  });

  it('sendMalformed() delivers truncated, header-only, bad-tag, bad-version and garbage datagrams', async () => {
    client = await connect(standin);
    const kinds = ['truncated', 'header-only', 'bad-tag', 'bad-version', 'garbage'] as const;
    for (const kind of kinds) expect(standin.faults.sendMalformed({ kind, count: 2 })).toBe(2);
    await sleep(300);
    // The 6-byte ones never show up: like @discordjs/voice, the client drops datagrams of <= 8 bytes.
    expect(client.packets).toHaveLength(8);
    expect(client.packets.every((p) => p.error !== undefined)).toBe(true);
    expect(client.packets.filter((p) => p.error === 'RtpParseError').length).toBeGreaterThanOrEqual(2);
    expect(client.packets.filter((p) => p.error === 'VoiceCryptoError').length).toBeGreaterThanOrEqual(4);
  });

  it('sendFromUnmappedSsrc() sends valid encrypted RTP from an ssrc no op 5 announced', async () => {
    client = await connect(standin);
    expect(standin.faults.sendFromUnmappedSsrc(3)).toBe(3);
    await sleep(250);
    const announced = new Set(client.messages.filter((m) => m.op === VoiceOp.Speaking).map((m) => (m.d as { ssrc: number }).ssrc));
    const unmapped = client.packets.filter((p) => p.error === undefined && !announced.has(p.header.ssrc));
    expect(unmapped).toHaveLength(3);
  });

  it('sendUnknownOps() sends ops 12 and 14–20 with seq', async () => {
    client = await connect(standin);
    await sleep(250);
    const seqBefore = client.lastSeq;
    expect(standin.faults.sendUnknownOps()).toBe(8);
    await sleep(250);
    const fault = client.messages.filter((m) => (m.d as { standin_fault?: boolean } | null)?.standin_fault === true);
    expect(fault.map((m) => m.op)).toEqual([12, 14, 15, 16, 17, 18, 19, 20]);
    expect(fault.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((i) => seqBefore + i));
  });

  it('dropUdp(ms) black-holes speaker packets for that long and logs them as udp-fault', async () => {
    client = await connect(standin);
    standin.sendLog.clear();
    const carol = standin.speakers.get('carol');
    const pass = standin.speakers.play('carol');
    await sleep(300);
    standin.faults.dropUdp(400);
    await pass;
    await sleep(250);
    const log = standin.sendLog.entries({ ssrc: carol?.ssrc as number });
    const faulted = log.filter((e) => e.reason === 'udp-fault');
    expect(faulted.length).toBeGreaterThan(10);
    const got = new Set(client.packets.filter((p) => p.header.ssrc === carol?.ssrc).map((p) => p.header.sequence));
    for (const e of faulted) expect(got.has(e.sequence)).toBe(false);
    for (const e of log.filter((x) => !x.dropped)) expect(got.has(e.sequence)).toBe(true);
  });
});

describe('send log as ground truth', () => {
  it('matches the configured loss (±0.05) and the client receives exactly the packets logged as sent', async () => {
    const standin = await startStandin({ speakers: [{ name: 'jfk', file: JFK }], timeScale: 0.25, impairment: { loss: 0.2, jitterMs: 0, reorder: 0, driftPpm: 0 }, seed: 7 });
    const client = await connect(standin);
    try {
      const jfk = standin.speakers.get('jfk');
      await standin.speakers.play('jfk');
      await sleep(300);
      const log = standin.sendLog.entries({ ssrc: jfk?.ssrc as number });
      expect(log.length).toBe(555);
      const rate = log.filter((e) => e.dropped).length / log.length;
      expect(Math.abs(rate - 0.2)).toBeLessThan(0.05);
      expect(standin.sendLog.summary()[0]?.lossRate).toBeCloseTo(rate, 10);
      const sent = log.filter((e) => !e.dropped).map((e) => e.sequence).sort((a, b) => a - b);
      const received = client.packets.filter((p) => p.header.ssrc === jfk?.ssrc).map((p) => p.header.sequence).sort((a, b) => a - b);
      expect(received).toEqual(sent);
    } finally {
      await client.close();
      await standin.close();
    }
  });

  it('the same seed drops the same packets and picks the same delays; another seed does not', async () => {
    const run = async (seed: number) => {
      const standin = await startStandin({ speakers: [{ name: 'carol', file: CAROL }], timeScale: 0.25, seed, impairment: { loss: 0.3, jitterMs: 10, reorder: 0, driftPpm: 0 } });
      try {
        await standin.speakers.play('carol');
        // Dropped packets are logged when produced, sent ones when sent: order by sequence to compare.
        const log = standin.sendLog.entries().sort((x, y) => ((x.sequence - y.sequence) << 16) >> 16);
        return { dropped: log.map((e) => e.dropped), delays: log.map((e) => e.delayMs), ssrc: log[0]?.ssrc };
      } finally {
        await standin.close();
      }
    };
    const [a, b, c] = [await run(11), await run(11), await run(12)];
    expect(b).toEqual(a);
    expect(c.dropped).not.toEqual(a.dropped);
    expect(c.ssrc).not.toBe(a.ssrc);
  });

  it('jitter and reordering: delays stay within the configured bound and arrival order follows the logged send times', async () => {
    const standin = await startStandin({ speakers: [{ name: 'carol', file: CAROL }], impairment: { loss: 0, jitterMs: 40, reorder: 0.1, driftPpm: 0 }, seed: 3 });
    const client = await connect(standin);
    try {
      const carol = standin.speakers.get('carol');
      await standin.speakers.play('carol');
      await sleep(200);
      const log = standin.sendLog.entries({ ssrc: carol?.ssrc as number });
      expect(log.every((e) => e.delayMs >= 0 && e.delayMs <= 40 + 2 * 20)).toBe(true);
      const bySendTime = [...log].sort((a, b) => (a.sentAt as number) - (b.sentAt as number)).map((e) => e.sequence);
      const arrival = client.packets.filter((p) => p.header.ssrc === carol?.ssrc).map((p) => p.header.sequence);
      expect(arrival).toEqual(bySendTime);
      const inversions = arrival.filter((s, i) => i > 0 && ((s - (arrival[i - 1] as number)) & 0xffff) > 0x8000).length;
      expect(inversions).toBeGreaterThan(0);
    } finally {
      await client.close();
      await standin.close();
    }
  });
});

function tshark(args: string[], timeoutMs: number): { done: Promise<string>; stop(): void; started: Promise<void> } {
  const child = spawn('tshark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d.toString()));
  const started = new Promise<void>((resolve) => child.stderr.on('data', (d) => {
    err += d.toString();
    if (err.includes('Capturing on')) resolve();
  }));
  const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
  const done = new Promise<string>((resolve) => child.once('exit', () => {
    clearTimeout(timer);
    resolve(out);
  }));
  return { done, started, stop: () => child.kill('SIGINT') };
}

/** tshark is installed and may capture on lo (root or the wireshark group's dumpcap capabilities). */
const canCapture = hasBinary('tshark', ['-i', 'lo', '-a', 'duration:1', '-q', '-c', '1', '-f', 'udp port 9']);

describe.skipIf(!requires('tshark with capture rights on lo', canCapture, 'apt-get install -y tshark; run as root or add the user to the wireshark group'))('tshark dissects the stand-in UDP as RTP', () => {
  it('PT 120, the speaker ssrc, consecutive sequence numbers and the BE DE extension', async () => {
    const standin = await startStandin({ speakers: [{ name: 'carol', file: CAROL }], timeScale: 0.25 });
    const client = await connect(standin);
    const port = standin.udpPort;
    const cap = tshark(['-i', 'lo', '-l', '-f', `udp and src port ${port}`, '-d', `udp.port==${port},rtp`, '-T', 'fields', '-E', 'separator=,', '-e', 'rtp.p_type', '-e', 'rtp.ssrc', '-e', 'rtp.seq', '-e', 'rtp.ext.profile'], 20_000);
    try {
      await cap.started;
      await sleep(500);
      const carol = standin.speakers.get('carol');
      standin.sendLog.clear();
      await standin.speakers.play('carol');
      await sleep(300);
      cap.stop();
      const rows = (await cap.done).trim().split('\n').filter(Boolean).map((l) => l.split(','));
      const rtp = rows.filter((r) => r[0] === '120');
      expect(rtp.length).toBe(standin.sendLog.entries({ ssrc: carol?.ssrc as number }).length);
      expect(new Set(rtp.map((r) => Number(r[1])))).toEqual(new Set([carol?.ssrc]));
      const seqs = rtp.map((r) => Number(r[2]));
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(((seqs[i - 1] as number) + 1) & 0xffff);
      expect(rtp.every((r) => Number(r[3]) === 0xbede)).toBe(true);
    } finally {
      cap.stop();
      await client.close();
      await standin.close();
    }
  });
});

describe('speaker clock', () => {
  it('looping passes are separate talk-spurts whose RTP timestamps keep running through the pause', async () => {
    const standin = await startStandin({ speakers: [{ name: 'carol', file: CAROL }], timeScale: 0.25 });
    try {
      const carol = standin.speakers.get('carol');
      void standin.speakers.play('carol', { loop: true, pauseMs: 400 });
      const markers = () => standin.sendLog.entries({ ssrc: carol?.ssrc as number }).filter((e) => e.marker).length;
      for (let i = 0; i < 200 && markers() < 2; i++) await sleep(20);
      standin.speakers.stop('carol');
      await sleep(250);
      const log = standin.sendLog.entries({ ssrc: carol?.ssrc as number });
      const starts = log.filter((e) => e.marker);
      expect(starts).toHaveLength(2);
      const second = log.indexOf(starts[1] as (typeof log)[number]);
      const gap = ((log[second]?.timestamp as number) - (log[second - 1]?.timestamp as number)) >>> 0;
      // 400 ms pause = 20 frame slots without packets; the first packet after it is 21 slots later.
      expect(gap).toBe(21 * 960);
      expect(log.slice(second - 5, second).every((e) => e.silence)).toBe(true);
      for (let i = 1; i < log.length; i++) expect(((log[i]?.sequence as number) - (log[i - 1]?.sequence as number)) & 0xffff).toBe(1);
    } finally {
      await standin.close();
    }
  });

  it('clock drift stretches the frame interval by driftPpm while RTP timestamps still step by 960', async () => {
    const standin = await startStandin({ speakers: [{ name: 'carol', file: CAROL }], timeScale: 0.25, impairment: { loss: 0, jitterMs: 0, reorder: 0, driftPpm: 50_000 } });
    try {
      const carol = standin.speakers.get('carol');
      await standin.speakers.play('carol');
      const log = standin.sendLog.entries({ ssrc: carol?.ssrc as number });
      const span = (log.at(-1)?.dueAt as number) - (log[0]?.dueAt as number);
      expect(span / (log.length - 1)).toBeCloseTo(20 * 0.25 * 1.05, 6);
      for (let i = 1; i < log.length; i++) expect(((log[i]?.timestamp as number) - (log[i - 1]?.timestamp as number)) >>> 0).toBe(960);
    } finally {
      await standin.close();
    }
  });
});
