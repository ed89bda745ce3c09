/**
 * Backpressure against a real hub that stops reading: the hub runs as its own process and is paused
 * with SIGSTOP, so the bridge's bus socket really fills (kernel buffers first, then the WebSocket's
 * own buffer). The publisher must stop at its byte bound, drop the oldest frames (counted) and say it
 * is lagging, and publish again once the hub resumes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusClient, topic } from '@promethean/shared';
import { agentBusFrom } from '@promethean/shared/node';
import { PcmFrameEncoder } from './pcm-frame-encoder.ts';
import { PcmPublisher } from './pcm-publisher.ts';
import type { PcmFrame } from '../receive/speaker-stream.ts';

const HUB_CHILD = fileURLToPath(new URL('../../../server/src/hub/run-child.ts', import.meta.url));
const tsFlags = (process.features as { typescript?: unknown }).typescript ? [] : ['--import', 'tsx'];

const frame = (seq: number): PcmFrame => ({ ssrc: 7, userId: '700', seq: seq & 0xffff, timestamp: (seq * 960) >>> 0, tsMonotonicNs: BigInt(seq) * 20_000_000n, pcm: new Int16Array(960).fill(seq & 0x7fff) });
const turn = () => new Promise<void>((r) => setTimeout(r, 1));

async function until(what: string, check: () => boolean, limitMs: number, step?: () => void): Promise<void> {
  const end = performance.now() + limitMs;
  while (!check()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    step?.();
    await turn();
  }
}

describe('PcmPublisher against a hub that stops reading (SIGSTOP)', () => {
  let hub: ChildProcess;
  let dataDir: string;
  let url: string;
  let token: string;
  const clients: BusClient[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'promethean-backpressure-'));
    hub = spawn(process.execPath, [...tsFlags, HUB_CHILD, JSON.stringify({ dataDir, writeRuntimeFile: false })], { stdio: ['pipe', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: hub.stdout! }).once('line', resolve);
      hub.once('exit', (code) => reject(new Error(`hub exited with ${code} before listening`)));
    });
    const info = JSON.parse(line) as { url: string; keyFile: string };
    url = info.url;
    token = (await readFile(info.keyFile, 'utf8')).trim();
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    if (hub && hub.exitCode === null) {
      hub.kill('SIGCONT');
      const exited = new Promise((r) => hub.once('exit', r));
      hub.stdin?.end();
      const kill = setTimeout(() => hub.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(kill);
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  it('stops at its byte bound, drops the oldest frames and counts them, then publishes again after the hub resumes', async () => {
    const client = new BusClient({ url, token });
    const listener = new BusClient({ url, token });
    clients.push(client, listener);
    await Promise.all([client.connect(), listener.connect()]);
    const seen: number[] = [];
    const sub = listener.subscribe(topic('discord', 'demo', 'voice.audio.pcm'), (env) => seen.push((env.payload as { rtp: { seq: number } }).rtp.seq));
    await sub.ready;

    const bus = agentBusFrom(client);
    const encoder = new PcmFrameEncoder({ src: 'discord-voice-access', provider: 'discord', tenant: 'demo', sessionId: 's1' });
    const bound = 256 * 1024;
    const publisher = new PcmPublisher('s1', (p, pcm) => bus.publishEncoded!(encoder.encode(p, pcm)), () => ({ queued: bus.queueDepth ?? 0, bufferedBytes: bus.bufferedBytes ?? 0 }), () => undefined, {
      capacity: 100,
      maxBufferedBytes: bound,
    });
    // flowing: the listener gets what is published
    let seq = 0;
    for (; seq < 20; seq++) publisher.push(frame(seq));
    publisher.drain();
    await until('the first frames to arrive', () => seen.length >= 20, 20_000);

    hub.kill('SIGSTOP');
    let most = 0;
    // 50 frames per turn (a second of one speaker) until the bound trips; never more than 100 MB in all
    await until('the publisher to lag and drop', () => publisher.dropped > 0, 60_000, () => {
      for (let i = 0; i < 50 && seq < 50_000; i++) publisher.push(frame(seq++));
      publisher.drain();
      most = Math.max(most, bus.bufferedBytes ?? 0);
    });
    // keep feeding another 500 frames: memory stays where it is
    for (let i = 0; i < 10; i++) {
      for (let k = 0; k < 50; k++) publisher.push(frame(seq++));
      publisher.drain();
      most = Math.max(most, bus.bufferedBytes ?? 0);
      await turn();
    }
    const frameBytes = encoder.encode({ session_id: 's1', user_id: '700', ts_monotonic_ns: '0', format: { rate_hz: 48000, channels: 1, codec: 'pcm_s16le' }, rtp: { ssrc: 7, seq: 0, timestamp: 0 }, attachment: 0 }, new Uint8Array(1920)).byteLength;
    expect(most).toBeLessThan(bound + frameBytes);
    expect(publisher.lagging).toBe(true);
    expect(publisher.depth).toBe(100);
    const dropped = publisher.dropped;
    expect(dropped).toBeGreaterThanOrEqual(500);
    expect(publisher.published + publisher.depth + dropped).toBe(seq);

    hub.kill('SIGCONT');
    const last = seq - 1;
    // the newest frames (kept by drop-oldest) reach the listener once the hub reads again
    await until('the newest frame to arrive', () => seen.includes(last & 0xffff), 60_000, () => publisher.drain());
    expect(publisher.depth).toBe(0);
    expect(publisher.dropped).toBe(dropped);
  });
});
