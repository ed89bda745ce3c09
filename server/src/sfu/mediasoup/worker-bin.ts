/**
 * Where the mediasoup worker binary is. The npm package is installed without its install script (which
 * would download a prebuilt worker); `scripts/build-mediasoup-worker.sh` builds the worker once into
 * a cache folder outside the repository. mediasoup's own `MEDIASOUP_WORKER_BIN` wins over that folder.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const BUILD_HINT = 'run scripts/build-mediasoup-worker.sh, or point MEDIASOUP_WORKER_BIN at a mediasoup-worker binary';

/** The installed mediasoup package's version, or `undefined` when it is not installed. */
export function installedMediasoupVersion(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    return (JSON.parse(readFileSync(require.resolve('mediasoup/package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/** `${PROMETHEAN_CACHE:-$HOME/.cache/promethean}/mediasoup-<version>/mediasoup-worker`: where the build script puts it. */
export function cachedWorkerPath(version: string, env: NodeJS.ProcessEnv = process.env): string {
  const root = env.PROMETHEAN_CACHE || join(env.HOME || homedir(), '.cache', 'promethean');
  return join(root, `mediasoup-${version}`, 'mediasoup-worker');
}

/** `MEDIASOUP_WORKER_BIN`, else the build script's cache path for the installed version; `undefined` if neither applies. */
export function defaultWorkerBin(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.MEDIASOUP_WORKER_BIN) return env.MEDIASOUP_WORKER_BIN;
  const version = installedMediasoupVersion();
  return version === undefined ? undefined : cachedWorkerPath(version, env);
}

/** True when `path` is an executable file. */
export function isExecutable(path: string | undefined): path is string {
  if (!path) return false;
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Whether the mediasoup driver can run here: the package is installed and a worker binary is found. */
export function mediasoupAvailable(env: NodeJS.ProcessEnv = process.env): boolean {
  return installedMediasoupVersion() !== undefined && isExecutable(defaultWorkerBin(env));
}
