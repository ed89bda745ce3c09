/**
 * Starts a throw-away PostgreSQL server for tests and benchmarks: a fresh data directory under the
 * temp dir, `initdb`, `pg_ctl start` on a free 127.0.0.1 port (unix socket inside the temp dir), and a
 * database. PostgreSQL refuses to run as root, so as root the server runs as the system user
 * `promethean-pg` (created if missing, through `useradd`) via `runuser`; otherwise as the current user.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface PostgresOptions {
  /** Folder holding initdb, pg_ctl and postgres. */
  binDir: string;
  /** System user that owns and runs the server when we are root. */
  systemUser: string;
  /** Database to create. */
  database: string;
  /** fsync and synchronous commit (off by default: tests do not need durability). */
  durable: boolean;
}

export const defaultPostgresOptions: PostgresOptions = {
  binDir: '/usr/lib/postgresql/15/bin',
  systemUser: 'promethean-pg',
  database: 'promethean_test',
  durable: false,
};

export interface RunningPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/<database>` (trust authentication, loopback only). */
  url: string;
  port: number;
  dataDir: string;
  /** Stops the server and removes its directory; idempotent. */
  stop(): Promise<void>;
}

/** True when the PostgreSQL server binaries are installed in `binDir`. */
export function hasPostgres(binDir: string = defaultPostgresOptions.binDir): boolean {
  return ['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(join(binDir, b)));
}

export const POSTGRES_INSTALL_HINT = 'apt-get install -y postgresql-15 (server binaries in /usr/lib/postgresql/15/bin)';

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

async function ensureSystemUser(user: string): Promise<{ uid: number; gid: number }> {
  const lookup = async () => {
    const uid = Number((await run('id', ['-u', user])).stdout.trim());
    const gid = Number((await run('id', ['-g', user])).stdout.trim());
    return { uid, gid };
  };
  try {
    return await lookup();
  } catch {
    try {
      await run('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', user]);
    } catch {
      // Another test file may have created it at the same moment; the lookup below decides.
    }
    return lookup();
  }
}

/** Asks the kernel for a free port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export async function startPostgres(options: Partial<PostgresOptions> = {}): Promise<RunningPostgres> {
  const o = { ...defaultPostgresOptions, ...options };
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(o.database)) throw new Error(`bad database name "${o.database}"`);
  if (!hasPostgres(o.binDir)) throw new Error(`PostgreSQL binaries not found in ${o.binDir} (${POSTGRES_INSTALL_HINT})`);
  const root = await mkdtemp(join(tmpdir(), 'promethean-pg-'));
  const dataDir = join(root, 'data');
  const asUser = isRoot() ? o.systemUser : undefined;
  if (asUser) {
    const { uid, gid } = await ensureSystemUser(asUser);
    await chown(root, uid, gid);
  }
  await chmod(root, 0o700);
  const pgBin = (name: string, args: string[]): Promise<{ stdout: string }> =>
    asUser
      ? run('runuser', ['-u', asUser, '--', join(o.binDir, name), ...args], { cwd: root })
      : run(join(o.binDir, name), args, { cwd: root });

  let started = false;
  let stopped: Promise<void> | undefined;
  const stopSync = (): void => {
    if (!started) return;
    const args = ['-D', dataDir, '-m', 'immediate', 'stop'];
    try {
      if (asUser) execFileSync('runuser', ['-u', asUser, '--', join(o.binDir, 'pg_ctl'), ...args], { stdio: 'ignore' });
      else execFileSync(join(o.binDir, 'pg_ctl'), args, { stdio: 'ignore' });
    } catch {
      // already gone
    }
  };
  // A test process that dies must not leave a server behind.
  process.once('exit', stopSync);

  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      process.removeListener('exit', stopSync);
      if (started) {
        try {
          await pgBin('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
        } catch {
          stopSync();
        }
        started = false;
      }
      await rm(root, { recursive: true, force: true });
    })();
    return stopped;
  };

  try {
    await pgBin('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    const port = await freePort();
    const settings = [
      `-p ${port}`,
      "-c listen_addresses='127.0.0.1'",
      `-c unix_socket_directories='${root}'`,
      ...(o.durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
    ].join(' ');
    await pgBin('pg_ctl', ['-D', dataDir, '-l', join(root, 'server.log'), '-o', settings, '-w', '-t', '60', 'start']);
    started = true;
    const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${o.database}`);
    } finally {
      await admin.end();
    }
    return { url: `postgres://postgres@127.0.0.1:${port}/${o.database}`, port, dataDir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
