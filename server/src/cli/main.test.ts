import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PROJECT_ROOT } from '../app.ts';
import { COMMANDS, main } from './main.ts';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  return { out, err };
}
afterEach(() => vi.restoreAllMocks());

describe('promethean CLI', () => {
  it.each(COMMANDS.map((c) => c.name))('%s --help prints its usage and exits 0', async (name) => {
    const { out } = capture();
    expect(await main([name, '--help'])).toBe(0);
    expect(out.join('\n')).toContain(`Usage: promethean ${name}`);
  });

  it('an unknown command exits 2 naming it and listing the commands', async () => {
    const { err } = capture();
    expect(await main(['frobnicate'])).toBe(2);
    expect(err.join('\n')).toContain('unknown command "frobnicate"');
    expect(err.join('\n')).toContain('start');
  });

  it('an unknown flag exits 2 with one clear error', async () => {
    const { err } = capture();
    expect(await main(['bench', '--nope'])).toBe(2);
    expect(err.join('\n')).toContain("Unknown option '--nope'");
  });

  it('a bad flag value exits 2 naming the flag', async () => {
    const { err } = capture();
    expect(await main(['start', '--port', 'eighty'])).toBe(2);
    expect(err.join('\n')).toContain('--port must be a number');
  });

  it('start refuses a non-loopback --host without TLS or --insecure, and half a TLS pair', async () => {
    const { err } = capture();
    expect(await main(['start', '--host', '0.0.0.0'])).toBe(2);
    expect(err.join('\n')).toContain('--host 0.0.0.0 is reachable from other machines: give --tls-cert and --tls-key');
    expect(await main(['start', '--tls-cert', 'x.pem'])).toBe(2);
    expect(err.join('\n')).toContain('--tls-cert and --tls-key go together');
  });

  it('invite needs a name and a guild id, and a sane --ttl', async () => {
    const { err } = capture();
    expect(await main(['invite', '--guild', '1'])).toBe(2);
    expect(err.join('\n')).toContain('--name is required');
    expect(await main(['invite', '--name', 'x', '--guild', 'abc'])).toBe(2);
    expect(err.join('\n')).toContain('--guild must be a Discord guild id');
    expect(await main(['invite', '--name', 'x', '--guild', '1', '--ttl', '40d'])).toBe(2);
    expect(err.join('\n')).toContain('--ttl must be from 1m to 30d');
  });

  it('bench rejects an unknown suite', async () => {
    const { err } = capture();
    expect(await main(['bench', 'nosuch'])).toBe(2);
    expect(err.join('\n')).toContain('unknown suite "nosuch"');
  });
});

function runTap(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCli(['tap', ...args]);
}

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

/** RMS of s16le samples after a WAV's 44-byte header. */
function wavRms(wav: Buffer): number {
  const pcm = new Int16Array(wav.buffer, wav.byteOffset + 44, (wav.byteLength - 44) >> 1);
  let sum = 0;
  for (const v of pcm) sum += v * v;
  return Math.sqrt(sum / Math.max(1, pcm.length));
}

describe('promethean start', () => {
  it('with no Discord token: hub on PGlite, stand-in speakers received by the bridge and visible with tap; the login link opens a session; SIGINT stops it', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'promethean-start-'));
    // The project's providers.yml with its credential pointed at a variable no machine sets, so the
    // run uses the stand-in even where a developer has real credentials in the environment.
    const providers = join(dataDir, 'providers.yml');
    const yml = (await readFile(join(PROJECT_ROOT, 'providers.yml'), 'utf8')).replace(/bot_token: \$\{[A-Z_]+\}/, 'bot_token: ${PROMETHEAN_TEST_UNSET_CREDENTIAL}');
    expect(yml).toContain('PROMETHEAN_TEST_UNSET_CREDENTIAL');
    await writeFile(providers, yml);
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/promethean.mjs'), 'start', '--port', '0', '--data-dir', dataDir, '--providers', providers], { cwd: PROJECT_ROOT });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const link = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no login link within 90 s:\n${stdout}\n${stderr}`)), 90_000);
      child.stdout.on('data', (d) => {
        stdout += d;
        const m = /login: (http:\/\/\S+)/.exec(stdout);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    try {
      expect(stderr).toContain('storage: PGlite');
      const url = new URL(link);
      const token = new URLSearchParams(url.hash.slice(1)).get('token');
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const res = await fetch(new URL('/api/session', url), { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      const again = await fetch(new URL('/api/session', url), { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      expect(again.status).toBe(401);
      expect((await stat(join(dataDir, 'runtime.json'))).mode & 0o777).toBe(0o600);
      // `promethean login` mints another one-time link from the running server.
      const login = await runCli(['login', '--data-dir', dataDir]);
      expect(login.code, login.stderr).toBe(0);
      const fresh = new URL(login.stdout.trim());
      expect(fresh.origin).toBe(url.origin);
      const freshToken = new URLSearchParams(fresh.hash.slice(1)).get('token');
      expect(freshToken).not.toBe(token);
      expect((await fetch(new URL('/api/session', url), { method: 'POST', headers: { authorization: `Bearer ${freshToken}` } })).status).toBe(200);
      // `promethean invite` mints a moderator's link limited to a guild.
      const invite = await runCli(['invite', '--name', 'Ana', '--guild', '1100000000000000001', '--ttl', '2h', '--data-dir', dataDir]);
      expect(invite.code, invite.stderr).toBe(0);
      const inviteToken = new URLSearchParams(new URL(invite.stdout.trim()).hash.slice(1)).get('token');
      const ana = await fetch(new URL('/api/session', url), { method: 'POST', headers: { authorization: `Bearer ${inviteToken}` } });
      expect(await ana.json()).toMatchObject({ role: 'moderator', name: 'Ana', guilds: ['1100000000000000001'] });
      expect(stderr).toContain('PROMETHEAN_TEST_UNSET_CREDENTIAL unset) — starting the built-in Discord stand-in');
      // The simulated speakers reach the bus through the bridge: tap records one WAV per speaker.
      const out = join(dataDir, 'tap');
      let wavs: string[] = [];
      for (let attempt = 0; attempt < 3 && wavs.length < 2; attempt++) {
        const tap = await runTap(['promethean.p.discord.t.*.voice.audio.pcm', '--out', out, '--duration', '4', '--data-dir', dataDir]);
        expect(tap.code, tap.stderr).toBe(0);
        wavs = tap.stdout.trim().split('\n').filter((l) => l.endsWith('.wav'));
      }
      expect(wavs.length).toBeGreaterThanOrEqual(2);
      const loud = (await Promise.all(wavs.map((w) => readFile(w)))).filter((w) => w.byteLength > 44 + 48000 && wavRms(w) > 100);
      expect(loud.length).toBeGreaterThanOrEqual(2);
    } finally {
      child.kill('SIGINT');
      const code = await new Promise((r) => child.on('close', r));
      expect(code).toBe(0);
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 240_000);
});
