/**
 * `promethean audit verify|export`: checks the hash-chained audit log with the key from the data
 * directory, or writes it out as JSON lines (and records that it did). Both open the server's database
 * themselves (see `server/src/audit/open.ts`): with PGlite the server must be stopped first.
 */
import { open } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { PrometheanError } from '@promethean/shared';
import { PROJECT_ROOT } from '../../app.ts';
import {
  AuditHeadFile, describeVerifyResult, exportAudit, openAuditChain, openAuditStore, readAuditKey, verifyAuditChain,
} from '../../audit/index.ts';
import { parseFlags, type Command } from '../args.ts';

const ISO_RE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** `--since`: a date (UTC midnight) or a date and time with an offset. */
export function parseSince(value: string | undefined): string {
  if (value === undefined) throw new PrometheanError('bad_flag', '--since is required (an ISO 8601 time such as 2026-01-31T00:00:00Z)');
  const t = Date.parse(value);
  if (!ISO_RE.test(value) || Number.isNaN(t)) {
    throw new PrometheanError('bad_flag', `--since must be an ISO 8601 date, or a date and time with an offset (2026-01-31T09:00:00+01:00), got "${value}"`);
  }
  return new Date(t).toISOString();
}

/** Who runs the command, as an audit actor: `cli:<user>`. */
export function cliActor(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (a container's arbitrary uid): keep "unknown".
  }
  return `cli:${user.replace(/[^A-Za-z0-9_.@-]/g, '_').slice(0, 100) || 'unknown'}`;
}

function dataDirOf(value: string | undefined): string {
  return value ? resolve(value) : join(PROJECT_ROOT, '.data');
}

async function verify(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { 'data-dir': { type: 'string' }, 'reset-head': { type: 'boolean' } });
  const dataDir = dataDirOf(values['data-dir']);
  const { key } = await readAuditKey(dataDir);
  const headFile = new AuditHeadFile(dataDir);
  // The head file first: rows a live server appends afterwards leave it behind, never ahead.
  const head = await headFile.read();
  const store = await openAuditStore({ dataDir, env: process.env });
  try {
    const reset = values['reset-head'] === true;
    const result = await verifyAuditChain(store, key, { headFile: head, ignoreHead: reset });
    if (!result.ok) {
      console.error(describeVerifyResult(result));
      if (reset) console.error('The head file was left as it is: the rows themselves do not verify.');
      return 1;
    }
    console.log(describeVerifyResult(result));
    if (reset) {
      if (result.head) await headFile.write(result.head);
      else await headFile.remove();
      console.log(`${headFile.path} now ${result.head ? `records seq ${result.head.seq}` : 'is gone (the log is empty)'}; restart the server so it writes the head again.`);
    }
    return 0;
  } finally {
    await store.close();
  }
}

/** A writer that batches lines into 256 KiB writes. */
function batched(write: (chunk: string) => Promise<void>): { line: (l: string) => Promise<void>; flush: () => Promise<void> } {
  let buf: string[] = [];
  let size = 0;
  const flush = async () => {
    if (buf.length === 0) return;
    const chunk = buf.join('');
    buf = [];
    size = 0;
    await write(chunk);
  };
  return {
    async line(l) {
      buf.push(l);
      size += l.length;
      if (size >= 256 * 1024) await flush();
    },
    flush,
  };
}

function writeStdout(chunk: string): Promise<void> {
  return new Promise((done, fail) => process.stdout.write(chunk, (error) => (error ? fail(error) : done())));
}

async function exportCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { since: { type: 'string' }, out: { type: 'string' }, 'data-dir': { type: 'string' } });
  const since = parseSince(values.since);
  const dataDir = dataDirOf(values['data-dir']);
  const out = values.out ? resolve(values.out) : undefined;
  await readAuditKey(dataDir);
  const store = await openAuditStore({ dataDir, env: process.env });
  try {
    // The export record is chained like every other row, so the key and head file are attached.
    await openAuditChain(store, { dataDir, log: (line) => console.error(line), createKey: false });
    const file = out ? await open(out, 'w', 0o600) : undefined;
    try {
      const sink = batched(file ? async (chunk) => void (await file.write(chunk)) : writeStdout);
      const result = await exportAudit(store, sink.line, {
        since,
        actor: cliActor(),
        to: out ?? 'stdout',
        detail: { host: hostname(), pid: process.pid },
      });
      await sink.flush();
      if (file) await file.sync();
      console.error(`exported ${result.rows} audit rows since ${since} (through seq ${result.through_seq ?? '-'}) to ${out ?? 'stdout'}; recorded as seq ${result.record.seq}`);
    } finally {
      await file?.close();
    }
    return 0;
  } finally {
    await store.close();
  }
}

export const auditCommand: Command = {
  name: 'audit',
  summary: 'verify the hash-chained audit log, or export it as JSON lines',
  usage: `Usage: promethean audit verify [--data-dir DIR] [--reset-head]
       promethean audit export --since TIME [--out FILE] [--data-dir DIR]

Every audit row is hash-chained (seq, prev_hash, HMAC-SHA256 under <data dir>/keys/audit.key) and the
chain's head is kept in <data dir>/audit-head.json, outside the database.

  verify   recomputes the chain with the key and compares its end with the head file. Exits 0 with a
           one-line summary, or 1 naming the first bad row: edited (hash mismatch), deleted (seq gap or
           prev_hash mismatch), rebuilt with another key, truncated (head file ahead of the table).
  export   writes the rows recorded since TIME as JSON lines (stdout unless --out), after recording an
           audit.export row that says who exported which range to where.

Both open the server's database themselves: PGlite under <data dir>/pglite (stop \`promethean start\`
first: PGlite allows one process at a time), or PostgreSQL when DATABASE_URL is set (a live server
is fine).

Options:
  --data-dir <dir>   the server's data directory (default .data in the project)
  --since <time>     export: ISO 8601 date (2026-01-31) or date and time with offset (2026-01-31T09:00:00Z)
  --out <file>       export: write here (mode 0600) instead of stdout
  --reset-head       verify: when every row verifies, make the head file record the table's last row
                     (after investigating a reported mismatch, or after restoring a backup)
  -h, --help         this text`,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'verify') return verify(rest);
    if (sub === 'export') return exportCommand(rest);
    throw new PrometheanError('bad_flag', sub === undefined ? 'say what to do: verify or export' : `unknown subcommand "${sub}"; say verify or export`);
  },
};
