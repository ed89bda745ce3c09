import { spawn } from 'node:child_process';
import { describe, expect, it, vi } from 'vitest';
import { parseStandinFlags, runStandinCommand } from '../src/cli.ts';

describe('promethean standin flags', () => {
  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--loss', '2'], /--loss must be a number from 0 to 1/],
    [['--jitter-ms', 'abc'], /--jitter-ms must be a number/],
    [['--port', '70000'], /--port must be an integer from 0 to 65535/],
    [['--speaker', 'nofile'], /--speaker must be NAME=FILE.wav/],
    [['--speaker', 'x=/nonexistent.wav'], /file not found/],
    [['stray'], /Unexpected argument 'stray'/],
  ])('runStandinCommand(%j) prints one error and returns 2', async (argv, message) => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(await runStandinCommand(argv)).toBe(2);
      expect(err).toHaveBeenCalledTimes(1);
      expect(String(err.mock.calls[0]?.[0])).toMatch(message);
    } finally {
      err.mockRestore();
    }
  });

  it('--help prints the usage and returns 0', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      expect(await runStandinCommand(['--help'])).toBe(0);
      expect(String(log.mock.calls[0]?.[0])).toMatch(/^Usage: promethean standin/);
    } finally {
      log.mockRestore();
    }
  });

  it('with no --speaker it uses the four fixtures and loops', () => {
    const { options } = parseStandinFlags([]);
    expect(options.speakers.map((s) => s.name)).toEqual(['jfk', 'alice', 'bob', 'carol']);
    expect(options.loop).toBe(true);
    const once = parseStandinFlags(['--once', '--loss', '0.05', '--jitter-ms', '40', '--seed', '9']);
    expect(once.options).toMatchObject({ loop: false, seed: 9, impairment: { loss: 0.05, jitterMs: 40 } });
  });

  it('negotiates DAVE unless --no-dave, as Discord does (--dave still accepted)', () => {
    expect(parseStandinFlags([]).dave).toBe(true);
    expect(parseStandinFlags(['--dave']).dave).toBe(true);
    expect(parseStandinFlags(['--no-dave']).dave).toBe(false);
  });

  it('a running stand-in prints the REST base URL and certificate path, and exits 0 on SIGINT', async () => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(new URL('../src/cli.ts', import.meta.url).href)}); process.exitCode = await m.runStandinCommand(['--once', '--port', '0']);`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d.toString()));
    const code = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    for (let i = 0; i < 200 && !out.includes('Certificate:'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(out).toMatch(/REST base URL: http:\/\/127\.0\.0\.1:\d+\/api/);
    expect(out).toMatch(/CDN base URL: +http:\/\/127\.0\.0\.1:\d+ /);
    expect(out).toMatch(/Certificate: +\S+standin-cert\.pem/);
    child.kill('SIGINT');
    expect(await code).toBe(0);
  });
});
