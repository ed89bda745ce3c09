/**
 * Starting the project's own local speech server (`python -m promethean_speech` in the speech
 * environment that scripts/install-speech.sh builds) and waiting for its `ready` line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PrometheanError } from '@promethean/shared';

export interface LocalSpeechServerOptions {
  /** Project root (holds speech/ and models/manifest.json). */
  projectRoot: string;
  /** The speech virtual environment. */
  venv: string;
  /** The model folder. */
  modelsDir: string;
  host: string;
  /** 0 = any free port. */
  port: number;
  /** CPU threads per engine. */
  threads: number;
  /** Load the default models before reporting ready. */
  preload: boolean;
  /** Extra flags for the server (`--stt-model whisper-base`). */
  args: string[];
  /** Pin the process to these CPUs with taskset (benchmarks on one core). */
  cpus?: string;
  /** The server exits when this process is gone, even when it was killed (no orphaned server). */
  exitWithParent: boolean;
  /** Where the server's stderr lines go. */
  log: (line: string) => void;
  /** How long to wait for `ready`. */
  readyTimeoutMs: number;
}

export const defaultSpeechCacheDir = join(homedir(), '.cache', 'promethean');

export const defaultLocalSpeechServerOptions = {
  venv: process.env.PROMETHEAN_SPEECH_VENV ?? join(defaultSpeechCacheDir, 'speech-venv'),
  modelsDir: process.env.PROMETHEAN_MODELS_DIR ?? join(defaultSpeechCacheDir, 'models'),
  host: '127.0.0.1',
  port: 0,
  threads: 1,
  preload: false,
  args: [] as string[],
  exitWithParent: true,
  log: (line: string) => console.error(line),
  readyTimeoutMs: 120_000,
} satisfies Partial<LocalSpeechServerOptions>;

/** The command line that runs the server (also what `promethean speech serve` execs). */
export function speechServerCommand(o: LocalSpeechServerOptions): { command: string; args: string[]; env: Record<string, string> } {
  const python = join(o.venv, 'bin', 'python');
  if (!existsSync(python)) throw new PrometheanError('unavailable', `the speech environment is missing (${python}); run: bash scripts/install-speech.sh`);
  const serverArgs = ['-m', 'promethean_speech', '--host', o.host, '--port', String(o.port), '--threads', String(o.threads), '--models-dir', o.modelsDir, '--manifest', join(o.projectRoot, 'models', 'manifest.json'), ...(o.preload ? ['--preload'] : []), ...(o.exitWithParent ? ['--exit-with-parent'] : []), ...o.args];
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? homedir(),
    PYTHONPATH: join(o.projectRoot, 'speech'),
    PYTHONUNBUFFERED: '1',
    // No hub at run time: every model comes from the model folder.
    HF_HUB_OFFLINE: '1',
    OMP_NUM_THREADS: String(o.threads),
  };
  return o.cpus ? { command: 'taskset', args: ['-c', o.cpus, python, ...serverArgs], env } : { command: python, args: serverArgs, env };
}

export interface LocalSpeechServer {
  /** Base URL with `/v1`. */
  url: string;
  port: number;
  process: ChildProcess;
  close(): Promise<void>;
}

export function startLocalSpeechServer(options: Partial<LocalSpeechServerOptions> & Pick<LocalSpeechServerOptions, 'projectRoot'>): Promise<LocalSpeechServer> {
  const o: LocalSpeechServerOptions = { ...defaultLocalSpeechServerOptions, ...options };
  const { command, args, env } = speechServerCommand(o);
  const child = spawn(command, args, { cwd: o.projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  createInterface({ input: child.stderr! }).on('line', (l) => o.log(`speech: ${l}`));
  const close = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void close();
      reject(new PrometheanError('timeout', `the speech server did not report ready within ${o.readyTimeoutMs} ms`));
    }, o.readyTimeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new PrometheanError('unavailable', `the speech server could not start: ${e.message}`, { cause: e }));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new PrometheanError('unavailable', `the speech server exited (${signal ?? `code ${code}`}) before it was ready; see its log lines`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let m: { type?: string; url?: string; port?: number };
      try {
        m = JSON.parse(line) as typeof m;
      } catch {
        o.log(`speech: ${line}`);
        return;
      }
      if (m.type === 'ready' && typeof m.url === 'string' && typeof m.port === 'number') {
        clearTimeout(timer);
        resolve({ url: m.url, port: m.port, process: child, close });
      }
    });
  });
}
