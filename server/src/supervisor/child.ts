/**
 * One supervised child process: spawned with exactly the environment its spec gives (plus a minimal
 * base), its output relayed line by line under its name, restarted with exponential backoff when it
 * exits unexpectedly. A small state machine in the style of discord.js `VoiceConnection`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { InvalidStateError } from '@promethean/shared';

export type ChildRole = 'server' | 'worker' | 'access' | 'standin';

export interface ChildSpec {
  /** Name used in logs and health (`server`, `mixer`, `discord-voice-access`, `standin`). */
  name: string;
  role: ChildRole;
  /** TypeScript entry, run through tsx. */
  script: string;
  args: string[];
  /**
   * The child's whole environment besides {@link baseEnv}: nothing of the supervisor's environment
   * reaches a child unless it is named here.
   */
  env: Record<string, string>;
  /** Working directory. */
  cwd: string;
}

export interface SupervisedChildOptions {
  /** Restart after an unexpected exit. */
  restart: boolean;
  /** First restart delay; doubles after each quick crash. */
  backoffInitialMs: number;
  /** Longest restart delay. */
  backoffMaxMs: number;
  /** A child that ran at least this long before it exited starts again from the initial delay. */
  stableMs: number;
  /** Time a child has to exit after SIGTERM before it is killed. */
  stopTimeoutMs: number;
  /** Where the child's output lines go (already prefixed with its name). */
  log: (line: string) => void;
}

export const defaultSupervisedChildOptions: SupervisedChildOptions = {
  restart: true,
  backoffInitialMs: 500,
  backoffMaxMs: 30_000,
  stableMs: 30_000,
  stopTimeoutMs: 5_000,
  log: (line) => console.error(line),
};

export type ChildStatus = 'idle' | 'running' | 'backoff' | 'stopping' | 'stopped';

export interface ChildHealth {
  name: string;
  role: ChildRole;
  status: ChildStatus;
  pid: number | null;
  /** Times it was started again after an unexpected exit. */
  restarts: number;
  /** The last unexpected exit: code or signal, ISO time. */
  last_exit: { code: number | null; signal: string | null; at: string } | null;
  /** Milliseconds until the next restart while in backoff. */
  restart_in_ms: number | null;
}

/** Messages a child may send over IPC; `ready` carries what its parent needs to know. */
export interface ChildMessage {
  type: string;
  [key: string]: unknown;
}

type Events = {
  spawn: [pid: number];
  ready: [message: ChildMessage];
  message: [message: ChildMessage];
  exit: [code: number | null, signal: NodeJS.Signals | null, expected: boolean];
  stateChange: [from: ChildStatus, to: ChildStatus];
};

/** PATH, HOME and NODE_ENV: what every child needs to run, and nothing secret. */
export function baseEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return { PATH: env.PATH ?? '/usr/bin:/bin', HOME: env.HOME ?? '/tmp', NODE_ENV: env.NODE_ENV ?? 'production' };
}

export class SupervisedChild extends EventEmitter<Events> {
  readonly spec: ChildSpec;
  readonly options: SupervisedChildOptions;
  #status: ChildStatus = 'idle';
  #process: ChildProcess | undefined;
  #restarts = 0;
  #delayMs: number;
  #startedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #restartAt = 0;
  #lastExit: ChildHealth['last_exit'] = null;
  #baseEnv: Record<string, string>;

  constructor(spec: ChildSpec, options: Partial<SupervisedChildOptions> = {}, parentEnv: Readonly<Record<string, string | undefined>> = process.env) {
    super();
    this.spec = spec;
    this.options = { ...defaultSupervisedChildOptions, ...options };
    this.#delayMs = this.options.backoffInitialMs;
    this.#baseEnv = baseEnv(parentEnv);
  }

  get status(): ChildStatus {
    return this.#status;
  }

  /** Times it was started again after an unexpected exit. */
  get restarts(): number {
    return this.#restarts;
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  /** Replaces the spec's environment or arguments for the next (re)start (e.g. a port chosen at first start). */
  update(change: { env?: Record<string, string>; args?: string[] }): void {
    if (change.env) this.spec.env = { ...change.env };
    if (change.args) this.spec.args = [...change.args];
  }

  health(): ChildHealth {
    return {
      name: this.spec.name,
      role: this.spec.role,
      status: this.#status,
      pid: this.#process?.pid ?? null,
      restarts: this.#restarts,
      last_exit: this.#lastExit,
      restart_in_ms: this.#status === 'backoff' ? Math.max(0, this.#restartAt - Date.now()) : null,
    };
  }

  /** Starts the process; resolves with its `ready` message, or rejects if it exits first. */
  start(): Promise<ChildMessage> {
    if (this.#status !== 'idle') throw new InvalidStateError(`${this.spec.name} was already started`);
    const ready = this.nextReady();
    this.#spawn();
    return ready;
  }

  /**
   * Resolves with the next `ready` message, across restarts; rejects when the child stops for good
   * (stopped, or exited with restarts off) before sending one.
   */
  nextReady(): Promise<ChildMessage> {
    return new Promise((resolve, reject) => {
      const onReady = (m: ChildMessage) => {
        this.off('stateChange', onState);
        resolve(m);
      };
      const onState = (_from: ChildStatus, to: ChildStatus) => {
        if (to !== 'stopped' && to !== 'stopping') return;
        this.off('ready', onReady);
        this.off('stateChange', onState);
        const exit = this.#lastExit;
        reject(new Error(`${this.spec.name} ${exit ? `exited (${exit.signal ?? `code ${exit.code}`})` : 'was stopped'} before it was ready; see its log lines above`));
      };
      this.once('ready', onReady);
      this.on('stateChange', onState);
    });
  }

  /** Sends a message over IPC; false when the child is not running. */
  send(message: ChildMessage): boolean {
    const p = this.#process;
    if (!p || !p.connected) return false;
    p.send(message);
    return true;
  }

  /** Stops the child (SIGTERM, then SIGKILL after the timeout) and never restarts it. Idempotent. */
  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const p = this.#process;
    if (this.#status === 'stopped') return;
    if (!p || p.exitCode !== null || p.signalCode !== null) {
      this.#set('stopped');
      return;
    }
    this.#set('stopping');
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => p.kill('SIGKILL'), this.options.stopTimeoutMs);
      p.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      p.kill('SIGTERM');
    });
    this.#set('stopped');
  }

  #spawn(): void {
    const { script, args, env, cwd, name } = this.spec;
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      env: { ...this.#baseEnv, ...env },
      cwd,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Its own process group: a terminal's Ctrl-C reaches the supervisor alone, which then stops
      // the children in order. A child whose supervisor vanishes sees its IPC channel close and stops.
      detached: true,
    });
    this.#process = child;
    this.#startedAt = Date.now();
    this.#set('running');
    const relay = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) this.options.log(`[${name}] ${line}`);
    };
    child.stdout?.on('data', relay);
    child.stderr?.on('data', relay);
    child.on('message', (raw) => {
      // A child's message is input like any other: only objects with a string `type` count.
      if (typeof raw !== 'object' || raw === null || typeof (raw as ChildMessage).type !== 'string') return;
      const m = raw as ChildMessage;
      this.emit(m.type === 'ready' ? 'ready' : 'message', m);
    });
    child.once('spawn', () => this.emit('spawn', child.pid ?? 0));
    child.once('error', (error) => this.options.log(`[${name}] could not start: ${error.message}`));
    child.once('exit', (code, signal) => this.#onExit(child, code, signal));
  }

  #onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.#process) return;
    const expected = this.#status === 'stopping' || this.#status === 'stopped';
    this.emit('exit', code, signal, expected);
    if (expected) return;
    this.#lastExit = { code, signal, at: new Date().toISOString() };
    if (!this.options.restart) {
      this.#set('stopped');
      return;
    }
    if (Date.now() - this.#startedAt >= this.options.stableMs) this.#delayMs = this.options.backoffInitialMs;
    const delay = this.#delayMs;
    this.#delayMs = Math.min(this.options.backoffMaxMs, this.#delayMs * 2);
    this.options.log(`[${this.spec.name}] exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`);
    this.#restartAt = Date.now() + delay;
    this.#set('backoff');
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#status !== 'backoff') return;
      this.#restarts++;
      this.#spawn();
    }, delay);
  }

  #set(status: ChildStatus): void {
    const from = this.#status;
    if (from === status) return;
    this.#status = status;
    this.emit('stateChange', from, status);
  }
}
