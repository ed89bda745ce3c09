/**
 * The whole product for end-to-end tests and the latency benchmark: a Discord stand-in started in
 * this process (so a test can make speakers join and leave), and `promethean start` as a child
 * process pointed at it with a bot token, exactly as an operator would run it against Discord.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BusClient, makeEnvelope, type Envelope } from '@promethean/shared';
import { encodeWavS16, parseStandinFlags, startStandin, type Standin, type StandinOptions, type VoiceServerExtension } from '@promethean/standin';

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Writes a mono 48 kHz sine WAV (a simulated speaker's voice). */
export async function writeTone(path: string, hz: number, seconds = 4, amplitude = 0.3): Promise<string> {
  const n = Math.round(48_000 * seconds);
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) pcm[i] = Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * hz * i) / 48_000));
  await writeFile(path, encodeWavS16(pcm, 48_000, 1));
  return path;
}

export interface StackOptions {
  /** NAME → WAV file, in join order. */
  speakers: Record<string, string>;
  extensions?: VoiceServerExtension[];
  /** Extra `promethean start` flags. */
  startArgs?: string[];
  /**
   * Stand-in options over those the speaker flags give: e.g. `recordDir`, or `speakers: []` and
   * `autoplay: false` for a channel the test fills itself (`standin.speakers.join()`).
   */
  standin?: Partial<StandinOptions>;
  /** Runs once the stand-in is up, before `promethean start` (e.g. to write config that names its guild). */
  beforeStart?: (standin: Standin) => Promise<void> | void;
}

export interface Stack {
  dir: string;
  dataDir: string;
  standin: Standin;
  /** The printed login link. */
  link: string;
  /** `promethean start`. */
  supervisor: ChildProcess;
  /** Everything `promethean start` printed so far. */
  output(): string;
  /** A bus client with the agent key. */
  bus: BusClient;
  tenant: string;
  /** The voice session id the bridge uses for the stand-in's channel. */
  sessionId: string;
  close(): Promise<void>;
}

/** Resolves with the first envelope on `pattern` that `accept` takes. */
export function nextEnvelope(bus: BusClient, pattern: string, accept: (e: Envelope) => boolean, timeoutMs = 30_000): Promise<Envelope> {
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

export async function startStack(options: StackOptions): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), 'promethean-e2e-'));
  const flags = parseStandinFlags(Object.entries(options.speakers).flatMap(([name, file]) => ['--speaker', `${name}=${file}`]));
  const standin = await startStandin({ ...flags.options, dataDir: join(dir, 'standin'), extensions: options.extensions ?? [], log: () => undefined, ...options.standin });
  const dataDir = join(dir, 'data');
  try {
    await options.beforeStart?.(standin);
  } catch (error) {
    await standin.close();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  // The bot token variable providers.yml names (read from the file: no test names it).
  const variable = /bot_token: \$\{([A-Z_]+)\}/.exec(await readFile(join(PROJECT_ROOT, 'providers.yml'), 'utf8'))![1]!;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    [variable]: `MTIz.${randomBytes(24).toString('base64url')}`,
    DISCORD_API_BASE: standin.restApi,
    DISCORD_CDN_BASE: standin.cdnBase,
    NODE_EXTRA_CA_CERTS: standin.certPath,
    DISCORD_GUILD_ID: standin.guildId,
  };
  const supervisor = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/promethean.mjs'), 'start', '--port', '0', '--data-dir', dataDir, ...(options.startArgs ?? [])], { cwd: PROJECT_ROOT, env });
  let out = '';
  supervisor.stdout!.on('data', (d) => (out += d));
  supervisor.stderr!.on('data', (d) => (out += d));
  const stopSupervisor = async () => {
    if (supervisor.exitCode !== null || supervisor.signalCode !== null) return;
    const closed = new Promise((r) => supervisor.once('close', r));
    supervisor.kill('SIGINT');
    await closed;
  };
  try {
    const link = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no login link within 120 s:\n${out}`)), 120_000);
      const onData = () => {
        const m = /login: (http:\/\/\S+)/.exec(out);
        if (!m) return;
        clearTimeout(timer);
        supervisor.stdout!.off('data', onData);
        resolve(m[1]!);
      };
      supervisor.stdout!.on('data', onData);
      supervisor.once('close', (code) => reject(new Error(`promethean start exited (${code}):\n${out}`)));
    });
    const runtime = JSON.parse(await readFile(join(dataDir, 'runtime.json'), 'utf8')) as { hub_url: string; key_file: string };
    const bus = new BusClient({ url: runtime.hub_url, token: (await readFile(runtime.key_file, 'utf8')).trim() });
    await bus.connect();
    const tenant = 'demo';
    await nextEnvelope(bus, `promethean.p.discord.t.${tenant}.health`, (e) => e.src === 'discord-voice-access', 60_000);
    const connected = nextEnvelope(bus, `promethean.p.discord.t.${tenant}.voice.state.connected`, (e) => (e.payload as { status: string }).status === 'connected', 60_000);
    bus.publish(makeEnvelope('voice.control.join', { guild_id: standin.guildId, channel_id: standin.voiceChannelId, prefer_opus: true, self_mute: false, self_deaf: false }, { src: 'e2e', provider: 'discord', tenant }));
    const sessionId = (((await connected).payload) as { session_id: string }).session_id;
    let closed = false;
    return {
      dir,
      dataDir,
      standin,
      link,
      supervisor,
      output: () => out,
      bus,
      tenant,
      sessionId,
      async close() {
        if (closed) return;
        closed = true;
        bus.close();
        await stopSupervisor();
        await standin.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stopSupervisor();
    await standin.close();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
