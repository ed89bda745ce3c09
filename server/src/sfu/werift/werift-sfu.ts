/**
 * The werift driver. `WeriftSfu` lives in the caller's process and holds no socket: it spawns the media
 * process (`child.ts`, under tsx, with an empty environment so no secret reaches it) and talks to it
 * over Node's IPC channel through a {@link Channel}. If that process dies, the Sfu emits `died`,
 * closes its routers and is closed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InvalidStateError, SfuDiedError } from '../errors.ts';
import { ingestHost, resolveSfuOptions, type SfuOptions } from '../options.ts';
import type { RouterIdentity } from '../router-base.ts';
import { SfuBase } from '../sfu-base.ts';
import type { Sfu, SfuConnectionState, SfuIngestAddress, SfuIngestStats } from '../types.ts';
import { Channel } from './channel.ts';
import type { WeriftListener } from './listener.ts';
import type { FromChild, NotificationMessage, ToChild } from './protocol.ts';
import { WeriftRouter } from './router.ts';

/** The command line of the media process: Node itself, tsx's loader, `child.ts`. */
function childCommand(): { command: string; args: string[] } {
  const require = createRequire(import.meta.url);
  const tsx = pathToFileURL(require.resolve('tsx')).href;
  const child = fileURLToPath(new URL('./child.ts', import.meta.url));
  return { command: process.execPath, args: ['--import', tsx, child] };
}

/** Its end only closes routers here: the media process closes its own as it stops. */
export class WeriftSfu extends SfuBase<WeriftRouter> {
  readonly driver = 'werift' as const;
  readonly ingest: SfuIngestAddress;
  /** The media process (for monitoring; killing it makes the Sfu emit `died`). */
  readonly pid: number;
  readonly #child: ChildProcess;
  readonly #channel: Channel;
  readonly #exited: Promise<void>;
  readonly #listeners = new Map<string, WeriftListener>();

  /** Spawns the media process and binds the ingest. Use {@link createWeriftSfu}. */
  static async create(partial: Partial<SfuOptions> = {}): Promise<WeriftSfu> {
    const options = resolveSfuOptions(partial);
    const { command, args } = childCommand();
    const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: {}, serialization: 'json' });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const kill = (): void => void child.kill('SIGKILL');
    try {
      const pid = await waitReady(child, options.processTimeoutMs);
      const channel = new Channel((m: ToChild) => sendTo(child, m), { requestTimeoutMs: options.requestTimeoutMs });
      const onMessage = (m: FromChild): void => channel.receive(m);
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        channel.close(new SfuDiedError(`the werift media process exited (code ${code}, signal ${signal}) during start-up`));
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      let ingestPort: number;
      try {
        ({ ingestPort } = await channel.request('sfu.init', { options }));
      } finally {
        child.off('exit', onExit);
        child.off('message', onMessage);
      }
      return new WeriftSfu(options, child, pid, channel, exited, { host: ingestHost(options.listenIp), port: ingestPort });
    } catch (error) {
      kill();
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, options.processTimeoutMs).unref())]);
      throw error;
    }
  }

  private constructor(options: SfuOptions, child: ChildProcess, pid: number, channel: Channel, exited: Promise<void>, ingest: SfuIngestAddress) {
    super(options, false);
    this.#child = child;
    this.pid = pid;
    this.#channel = channel;
    this.#exited = exited;
    this.ingest = ingest;
    channel.onNotification = (event, data) => this.#onNotification({ kind: 'notification', event, data });
    channel.onError = (error) => this.onListenerError(error, 'died');
    child.on('message', (m: FromChild) => channel.receive(m));
    child.on('error', (error) => this.onListenerError(error, 'died'));
    child.once('exit', (code, signal) => this.#onExit(code, signal));
  }

  protected async openRouter(init: RouterIdentity): Promise<WeriftRouter> {
    await this.#channel.request('router.create', { routerId: init.sessionId });
    return new WeriftRouter({ ...init, channel: this.#channel, listenerRegistry: this.#listeners });
  }

  protected readStats(): Promise<SfuIngestStats> {
    return this.#channel.request('sfu.stats', {});
  }

  protected async stop(died: Error | undefined): Promise<void> {
    if (died) {
      this.#channel.close(died);
      return;
    }
    // The media process answers, then exits; if it does not, it is killed.
    await this.#channel.request('sfu.close', {}).catch(() => undefined);
    this.#channel.close(new InvalidStateError('the SFU is closed'));
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), this.options.processTimeoutMs);
    await this.#exited;
    clearTimeout(timer);
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.closed) return;
    this.mediaDied(new SfuDiedError(`the werift media process exited unexpectedly (code ${code}, signal ${signal})`));
  }

  #onNotification(message: NotificationMessage): void {
    if (message.event === 'listener.connectionstatechange') {
      const { listenerId, state } = message.data as { listenerId: string; state: SfuConnectionState };
      this.#listeners.get(listenerId)?.handleConnectionState(state);
    }
  }
}

function sendTo(child: ChildProcess, message: ToChild): void {
  if (!child.connected) throw new InvalidStateError('the media process is not connected');
  // With a callback, a failed send (the process just died) is reported there instead of as an
  // 'error' event; the request then times out or is rejected when the exit is seen.
  child.send(message, () => undefined);
}

/** Resolves with the pid once the media process says it listens; rejects if it exits or is too slow. */
function waitReady(child: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const done = (error: Error | undefined, pid?: number): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      child.off('error', onError);
      if (error) reject(error);
      else resolve(pid!);
    };
    const onMessage = (m: FromChild): void => {
      if (m?.kind === 'notification' && m.event === 'sfu.ready') done(undefined, (m.data as { pid: number }).pid);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      done(new SfuDiedError(`the werift media process exited during start-up (code ${code}, signal ${signal})`));
    const onError = (error: Error): void => done(new SfuDiedError('the werift media process could not start', { cause: error }));
    const timer = setTimeout(() => done(new SfuDiedError(`the werift media process did not start in ${timeoutMs} ms`)), timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** Starts a werift SFU (its media process and ingest). */
export function createWeriftSfu(options: Partial<SfuOptions> = {}): Promise<Sfu> {
  return WeriftSfu.create(options);
}
