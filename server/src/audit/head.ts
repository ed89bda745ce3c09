/**
 * `<dataDir>/audit-head.json`: the audit chain's last `{ seq, hash }`, kept outside the database so
 * that rows removed from the end of the table (or a table rebuilt from scratch) show against it.
 * Written after every append (mode 0600, temp file + fsync + rename, so a reader never sees half a file).
 */
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PrometheanError } from '@promethean/shared';
import type { AuditHead } from '../store/index.ts';
import { AUDIT_CHAIN_FORMAT } from '../store/index.ts';

export function auditHeadPath(dataDir: string): string {
  return join(dataDir, 'audit-head.json');
}

/** Parses a head file's contents; `bad_config` naming the field when it is malformed. */
export function parseAuditHead(raw: unknown, where: string): AuditHead {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new PrometheanError('bad_config', `${where}: must be a JSON object`);
  const r = raw as Record<string, unknown>;
  if (r.format !== AUDIT_CHAIN_FORMAT) throw new PrometheanError('bad_config', `${where}: format must be "${AUDIT_CHAIN_FORMAT}"`, { path: 'format' });
  if (typeof r.seq !== 'string' || !/^[1-9][0-9]{0,18}$/.test(r.seq)) throw new PrometheanError('bad_config', `${where}: seq must be a positive integer as a decimal string`, { path: 'seq' });
  if (typeof r.hash !== 'string' || !/^[0-9a-f]{64}$/.test(r.hash)) throw new PrometheanError('bad_config', `${where}: hash must be 64 lowercase hex digits`, { path: 'hash' });
  return { seq: r.seq, hash: r.hash };
}

let tmpCounter = 0;

export class AuditHeadFile {
  readonly path: string;

  constructor(dataDir: string) {
    this.path = auditHeadPath(dataDir);
  }

  /** The recorded head, or undefined when there is no file. */
  async read(): Promise<AuditHead | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw cause;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (cause) {
      throw new PrometheanError('bad_config', `${this.path} is not valid JSON`, { cause });
    }
    return parseAuditHead(raw, this.path);
  }

  /** Removes the file (an empty log has no head). */
  async remove(): Promise<void> {
    await rm(this.path, { force: true });
  }

  /**
   * Replaces the file with `head`. With `onlyForward`, a file that already holds a later seq is left
   * alone (another process on the same PostgreSQL database appended after this one).
   */
  async write(head: AuditHead, options: { onlyForward?: boolean } = {}): Promise<void> {
    if (options.onlyForward) {
      const current = await this.read().catch(() => undefined);
      if (current && BigInt(current.seq) > BigInt(head.seq)) return;
    }
    const tmp = `${this.path}.${process.pid}.${++tmpCounter}.tmp`;
    const body = `${JSON.stringify({ format: AUDIT_CHAIN_FORMAT, seq: head.seq, hash: head.hash, written_at: new Date().toISOString() })}\n`;
    try {
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(body, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  }
}
