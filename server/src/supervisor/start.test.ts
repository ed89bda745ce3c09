/**
 * `promethean start` as a supervisor, end to end: a crashed server comes back on the same port and
 * the agents resume; a real bot token reaches only the supervisor and the access agent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BusClient, makeEnvelope, type Envelope } from '@promethean/shared';
import { PROJECT_ROOT } from '../app.ts';
import { readRuntimeFile } from '../hub/runtime-file.ts';
import { eventually } from '../../../test/support/until.ts';

const CLI = join(PROJECT_ROOT, 'bin/promethean.mjs');
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Started {
  child: ChildProcess;
  output: () => string;
  link: string;
}

/** Runs `promethean start` until it prints its login link. */
async function start(args: string[], env: NodeJS.ProcessEnv): Promise<Started> {
  const child = spawn(process.execPath, [CLI, 'start', '--port', '0', ...args], { cwd: PROJECT_ROOT, env });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const closed = new Promise((r) => child.once('close', r));
      child.kill('SIGINT');
      await closed;
    }
  });
  const link = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no login link within 90 s:\n${out}`)), 90_000);
    const onData = () => {
      const m = /login: (http:\/\/\S+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      resolve(m[1]!);
    };
    child.stdout.on('data', onData);
    child.once('close', (code) => reject(new Error(`promethean start exited (${code}):\n${out}`)));
  });
  return { child, output: () => out, link };
}

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function agentBus(dataDir: string): Promise<BusClient> {
  const info = await readRuntimeFile(dataDir);
  const bus = new BusClient({ url: info.hub_url, token: (await readFile(info.key_file, 'utf8')).trim() });
  await bus.connect();
  cleanups.push(async () => bus.close());
  return bus;
}

/** Resolves with the first envelope on `pattern` that `accept` takes. */
function next(bus: BusClient, pattern: string, accept: (e: Envelope) => boolean, timeoutMs = 30_000): Promise<Envelope> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no envelope on ${pattern} within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = bus.subscribe(pattern, (e) => {
      if (!accept(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

/** A providers.yml whose credential variable no machine sets, so the run uses the built-in stand-in. */
async function standinProviders(dir: string): Promise<string> {
  const file = join(dir, 'providers.yml');
  const yml = (await readFile(join(PROJECT_ROOT, 'providers.yml'), 'utf8')).replace(/bot_token: \$\{[A-Z_]+\}/, 'bot_token: ${PROMETHEAN_TEST_UNSET_CREDENTIAL}');
  await writeFile(file, yml);
  return file;
}

/** Every readable process's pid, parent pid, command line and environment. */
async function processes(): Promise<{ pid: number; ppid: number; cmdline: string; environ: string }[]> {
  const out: { pid: number; ppid: number; cmdline: string; environ: string }[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const [cmdline, environ, stat] = await Promise.all([
        readFile(`/proc/${name}/cmdline`, 'latin1'),
        readFile(`/proc/${name}/environ`, 'latin1'),
        readFile(`/proc/${name}/stat`, 'latin1'),
      ]);
      // stat: "pid (comm) state ppid …"; comm may hold spaces or parentheses, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      out.push({ pid: Number(name), ppid, cmdline: cmdline.replaceAll('\0', ' '), environ });
    } catch {
      // the process ended, or is not ours to read
    }
  }
  return out;
}

async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const bytes = await readFile(path).catch(() => undefined);
    if (bytes?.includes(needle)) hits.push(path);
  }
  return hits;
}

describe('promethean start (supervisor)', () => {
  it('restarts a killed server on the same port; the bridge reconnects and audio flows again; health reports the restart', async () => {
    const dir = await tempDir('promethean-sup-');
    const started = await start(['--data-dir', dir, '--providers', await standinProviders(dir)], process.env);
    const before = await readRuntimeFile(dir);
    const bus = await agentBus(dir);
    await next(bus, 'promethean.p.discord.t.*.voice.audio.pcm', () => true);
    // The built-in stand-in negotiates DAVE by default, as Discord does: the bridge's health says so.
    const health = await next(bus, 'promethean.p.discord.t.*.voice.health', (e) => (e.payload as { dave?: unknown }).dave !== undefined, 60_000);
    expect((health.payload as { dave: { protocol_version: number } }).dave.protocol_version).toBe(1);

    const restarted = next(bus, 'promethean.p.*.t.*.health', (e) => e.src === 'supervisor' && (e.payload as { counters: Record<string, number> }).counters['restarts.server'] === 1 && (e.payload as { state: string }).state === 'RUNNING', 60_000);
    process.kill(before.pid, 'SIGKILL');
    const after = await eventually(async () => {
      const info = await readRuntimeFile(dir).catch(() => undefined);
      return info && info.pid !== before.pid ? info : undefined;
    }, 'a new server process', 30_000);
    expect(after.hub_url).toBe(before.hub_url);
    expect((await fetch(new URL('/healthz', started.link))).status).toBe(200);
    await restarted;
    // The bridge's bus client reconnected by itself: speakers reach the bus again.
    await next(bus, 'promethean.p.discord.t.*.voice.audio.pcm', () => true);
    expect(started.output()).toMatch(/\[server\] exited \(SIGKILL\); restarting in \d+ ms/);
  }, 180_000);

  it('with a bot token and DISCORD_API_BASE at a separately started stand-in: audio flows, and the token is only in the supervisor and the access agent', async () => {
    const dir = await tempDir('promethean-tok-');
    const standin = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'test/standin/src/main.ts'), '--quiet', '--data-dir', join(dir, 'standin-own')], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    cleanups.push(async () => {
      const closed = new Promise((r) => standin.once('close', r));
      standin.kill('SIGTERM');
      await closed;
    });
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      standin.once('message', (m) => resolve(m as Record<string, unknown>));
      standin.once('exit', (code) => reject(new Error(`stand-in exited ${code}`)));
    });
    const token = `MTIz.${randomBytes(24).toString('base64url')}`;
    // The variable providers.yml names for the bot token (read from the file, so no test names it).
    const variable = /bot_token: \$\{([A-Z_]+)\}/.exec(await readFile(join(PROJECT_ROOT, 'providers.yml'), 'utf8'))![1]!;
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
    Object.assign(env, {
      [variable]: token,
      DISCORD_API_BASE: String(ready.rest_api),
      NODE_EXTRA_CA_CERTS: String(ready.cert_path),
      DISCORD_GUILD_ID: String(ready.guild_id),
    });
    const dataDir = join(dir, 'data');
    const started = await start(['--data-dir', dataDir], env);
    expect(started.output()).not.toContain('built-in Discord stand-in');

    const bus = await agentBus(dataDir);
    await next(bus, 'promethean.p.discord.t.*.health', (e) => e.src === 'discord-voice-access');
    const audio = new Set<string>();
    const heard = new Promise<void>((resolve) => {
      bus.subscribe('promethean.p.discord.t.*.voice.audio.pcm', (e) => {
        audio.add((e.payload as { user_id: string }).user_id);
        if (audio.size >= 2) resolve();
      });
    });
    bus.publish(makeEnvelope('voice.control.join', { guild_id: String(ready.guild_id), channel_id: String(ready.voice_channel_id), prefer_opus: true, self_mute: false, self_deaf: false }, { src: 'test', provider: 'discord', tenant: 'demo' }));
    await heard;

    const all = await processes();
    const holders = all.filter((p) => p.environ.includes(token) || p.cmdline.includes(token));
    // Only this supervisor's children: other suites may be running `promethean start` at the same time.
    const children = all.filter((p) => p.ppid === started.child.pid);
    const bridge = children.find((p) => p.cmdline.includes('bridge/src/main.ts'));
    const server = children.find((p) => p.cmdline.includes('server/src/main.ts'));
    const mixer = children.find((p) => p.cmdline.includes('workers/mixer/main.ts'));
    expect(bridge, 'the bridge process').toBeDefined();
    expect(server, 'the server process').toBeDefined();
    expect(mixer, 'the mixer process').toBeDefined();
    // The text access agents (discord-rest, discord-gateway) hold it too: they are access agents.
    const text = children.filter((p) => /server\/src\/access\/discord-(rest|gateway)\/main\.ts/.test(p.cmdline));
    expect(text.map((p) => p.cmdline.match(/discord-(rest|gateway)/)![1]).sort(), 'the text access agents').toEqual(['gateway', 'rest']);
    expect(holders.map((p) => p.pid).sort()).toEqual([started.child.pid!, bridge!.pid, ...text.map((p) => p.pid)].sort());
    for (const p of [server!, mixer!]) {
      for (const name of [variable, 'DISCORD_API_BASE', 'NODE_EXTRA_CA_CERTS']) expect(p.environ, `${name} in ${p.cmdline}`).not.toContain(`${name}=`);
    }
    expect(started.output()).not.toContain(token);
    expect(await filesContaining(dataDir, token)).toEqual([]);
  }, 180_000);
});
