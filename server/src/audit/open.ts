/**
 * How `promethean audit` reaches the log: it opens the database the server uses (PGlite under
 * `<dataDir>/pglite`, or `DATABASE_URL`) itself, with the key and head file from the data directory,
 * rather than asking the running server. A check that needs the server's cooperation proves nothing
 * about a server that was tampered with; this one needs only the key, the head file and read access.
 *
 * PGlite is single-process: a second process opening its folder while the server runs would corrupt
 * it. So with PGlite the command refuses while a server from that data directory is alive (its pid in
 * `runtime.json`); stop it first. With PostgreSQL it runs next to a live server.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PrometheanError } from '@promethean/shared';
import { readRuntimeFile, type RuntimeInfo } from '../hub/index.ts';
import type { Store } from '../store/index.ts';
import { createStore, storeConfigFromEnv } from '../store/index.ts';

export interface AuditStoreLocation {
  /** The server's data directory. */
  dataDir: string;
  /** The server's environment (only `DATABASE_URL` is read). */
  env: Readonly<Record<string, string | undefined>>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Throws `invalid_state` when a server whose runtime file is in `dataDir` is still running. */
export async function refuseWhileServerRuns(dataDir: string): Promise<void> {
  let info: RuntimeInfo;
  try {
    info = await readRuntimeFile(dataDir);
  } catch (error) {
    // No runtime file: no server from this data directory.
    if (error instanceof PrometheanError && error.code === 'invalid_state') return;
    throw new PrometheanError('invalid_state', `cannot tell whether a server runs on ${dataDir} (${(error as Error).message}); if none does, remove its runtime.json`, { cause: error });
  }
  if (info.pid !== process.pid && alive(info.pid)) {
    throw new PrometheanError(
      'invalid_state',
      `a server (pid ${info.pid}) is running on ${dataDir}, and PGlite allows one process at a time: stop it (Ctrl-C on \`promethean start\`) and run this again`,
    );
  }
}

/** Opens the server's store without migrating it; `not_found` / `invalid_state` say why it cannot. */
export async function openAuditStore(location: AuditStoreLocation): Promise<Store> {
  const pgliteDir = join(location.dataDir, 'pglite');
  const config = storeConfigFromEnv(location.env, { dataDir: pgliteDir, migrate: false });
  if (!config.databaseUrl) {
    if (!existsSync(pgliteDir)) throw new PrometheanError('not_found', `no database at ${pgliteDir}; pass the server's --data-dir (or set DATABASE_URL)`);
    await refuseWhileServerRuns(location.dataDir);
  }
  const store = await createStore(config);
  try {
    await store.auditChainState();
  } catch (cause) {
    await store.close();
    throw new PrometheanError('invalid_state', `the database has no audit chain yet (${(cause as Error).message}); start the server once to migrate it`, { cause });
  }
  return store;
}
