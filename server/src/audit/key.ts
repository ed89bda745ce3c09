/**
 * The audit chain key: 256 random bits at `<dataDir>/keys/audit.key` (64 hex digits, mode 0600, in a
 * 0700 folder), created on the server's first start and never written to the database. Whoever can
 * write the database but not read this file cannot forge a row that verifies.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PrometheanError } from '@promethean/shared';

export interface AuditKey {
  key: Buffer;
  path: string;
}

export function auditKeyPath(dataDir: string): string {
  return join(dataDir, 'keys', 'audit.key');
}

/** Reads the key; `not_found` when there is none, `bad_config` when the file holds something else. */
export async function readAuditKey(dataDir: string): Promise<AuditKey> {
  const path = auditKeyPath(dataDir);
  let text: string;
  try {
    text = (await readFile(path, 'utf8')).trim();
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new PrometheanError('not_found', `no audit key at ${path}; the server creates it on its first start`, { cause });
    }
    throw cause;
  }
  if (!/^[0-9a-f]{64}$/.test(text)) throw new PrometheanError('bad_config', `${path} does not hold a 256-bit hex key`, { path: 'keys/audit.key' });
  return { key: Buffer.from(text, 'hex'), path };
}

/** Reads the key, creating it (and `keys/`) when missing; tightens the modes to 0700 / 0600 either way. */
export async function loadOrCreateAuditKey(dataDir: string): Promise<AuditKey & { created: boolean }> {
  const dir = join(dataDir, 'keys');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const path = auditKeyPath(dataDir);
  try {
    const found = await readAuditKey(dataDir);
    await chmod(path, 0o600);
    return { ...found, created: false };
  } catch (error) {
    if (!(error instanceof PrometheanError && error.code === 'not_found')) throw error;
  }
  const key = randomBytes(32);
  try {
    await writeFile(path, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (cause) {
    // Another process created it first: use theirs.
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') return { ...(await readAuditKey(dataDir)), created: false };
    throw cause;
  }
  await chmod(path, 0o600);
  return { key, path, created: true };
}
