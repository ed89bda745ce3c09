import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
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

  it('bench rejects an unknown suite', async () => {
    const { err } = capture();
    expect(await main(['bench', 'nosuch'])).toBe(2);
    expect(err.join('\n')).toContain('unknown suite "nosuch"');
  });
});

describe('promethean start', () => {
  it('brings the hub up on PGlite, prints a login link whose token opens a session, and stops on SIGINT', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'promethean-start-'));
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/promethean.mjs'), 'start', '--port', '0', '--data-dir', dataDir], { cwd: PROJECT_ROOT });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const link = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no login link within 60 s:\n${stdout}\n${stderr}`)), 60_000);
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
    } finally {
      child.kill('SIGINT');
      const code = await new Promise((r) => child.on('close', r));
      expect(code).toBe(0);
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
