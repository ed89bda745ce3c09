import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUS_PCM_FORMAT, BusClient, makeEnvelope, type Envelope } from '@promethean/shared';
import { PROJECT_ROOT } from '../../app.ts';
import { startTempHub, type TempHub } from '../../hub/testing.ts';

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/promethean.mjs'), ...args], { cwd: PROJECT_ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** 20 ms of a 440 Hz tone at 48 kHz whose phase continues from frame to frame. */
function toneFrame(index: number): Uint8Array {
  const pcm = new Int16Array(960);
  for (let i = 0; i < 960; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * (index * 960 + i)) / 48000));
  return new Uint8Array(pcm.buffer);
}

describe('promethean tap', () => {
  let hub: TempHub;
  let client: BusClient;
  beforeAll(async () => {
    hub = await startTempHub({ writeRuntimeFile: true });
    client = new BusClient({ url: hub.url, token: hub.agentKey });
    await client.connect();
  });
  afterAll(async () => {
    client.close();
    await hub.dispose();
  });

  it('records envelopes.jsonl and one WAV per (session, user) through the runtime file', async () => {
    const out = join(hub.dataDir, 'tap-out');
    const tap = runCli(['tap', 'promethean.p.discord.t.*.voice.audio.pcm', '--out', out, '--duration', '4', '--data-dir', hub.dataDir]);
    // Wait until the tap's subscription is live: it connects as one more client.
    for (let i = 0; i < 100 && hub.metrics().connections < 2; i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    const frames = 25;
    const sent: Uint8Array[] = [];
    for (let n = 0; n < frames; n++) {
      for (const user of ['111', '222']) {
        const pcm = user === '111' ? toneFrame(n) : new Uint8Array(1920).fill(n);
        if (user === '111') sent.push(pcm);
        const env = makeEnvelope(
          'voice.audio.pcm',
          { session_id: 'g1-c1', user_id: user, ts_monotonic_ns: String(n * 20_000_000), format: BUS_PCM_FORMAT, rtp: { ssrc: 7, seq: n, timestamp: n * 960 }, attachment: 0 },
          { src: 'test', provider: 'discord', tenant: 'demo' },
        );
        client.publish(env as Envelope, [pcm]);
      }
    }
    // Another intent that does not match the pattern: must not be recorded.
    client.publish(makeEnvelope('voice.control.leave', { guild_id: '1' }, { src: 'test', provider: 'discord', tenant: 'demo' }) as Envelope);
    const result = await tap;
    expect(result.code, result.stderr).toBe(0);
    const lines = (await readFile(join(out, 'envelopes.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(frames * 2);
    expect(JSON.parse(lines[0]!).intent).toBe('voice.audio.pcm');
    const wav = await readFile(join(out, 'g1-c1', '111.wav'));
    expect(wav.subarray(0, 4).toString()).toBe('RIFF');
    expect(wav.readUInt32LE(24)).toBe(48000);
    expect(wav.readUInt16LE(22)).toBe(1);
    expect(wav.readUInt32LE(40)).toBe(frames * 1920);
    expect(Buffer.compare(wav.subarray(44), Buffer.concat(sent))).toBe(0);
    expect((await readFile(join(out, 'g1-c1', '222.wav'))).byteLength).toBe(44 + frames * 1920);
  });

  it('rejects a bad pattern and a missing --out with exit code 2 and one clear line', async () => {
    const bad = await runCli(['tap', 'promethean..x', '--out', '/tmp/x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('is not a topic pattern');
    const noOut = await runCli(['tap', 'promethean.>']);
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toContain('--out <dir> is required');
  });

  it('says how to start a hub when none is running', async () => {
    const r = await runCli(['tap', 'promethean.>', '--out', '/tmp/x', '--data-dir', join(hub.dataDir, 'nothing-here')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/runtime/i);
  });
});
