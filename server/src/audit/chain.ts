/**
 * Keys a store's audit log at start: the chain key from `<dataDir>/keys/audit.key`, the head written to
 * `<dataDir>/audit-head.json` after every append, rows from before the chain chained once, and (for
 * the server) listens a crash left open closed.
 *
 * The head file is compared with the table first. When they disagree (the file is ahead of the table,
 * names another hash, or is missing while the table has a chain), the store still records everything,
 * but the head file is frozen: it is not rewritten, so the evidence stays and `promethean audit verify`
 * keeps failing until an operator has looked and run `promethean audit verify --reset-head`.
 */
import type { AuditChainState, AuditHead, Store } from '../store/index.ts';
import { AuditHeadFile } from './head.ts';
import { loadOrCreateAuditKey, readAuditKey } from './key.ts';

export interface AuditChainStartOptions {
  /** The data directory holding `keys/audit.key` and `audit-head.json`. */
  dataDir: string;
  /** Progress and warning lines. */
  log: (line: string) => void;
  /** Create the key when there is none (the server, default); a CLI must find the server's. */
  createKey?: boolean;
}

export interface AuditChainStart {
  /** The chain's head after start (null while the log is empty). */
  head: AuditHead | null;
  /** Rows from before the chain chained by this start. */
  sealed: number;
  /** Why the head file is frozen, when it is. */
  frozen: string | undefined;
}

/** Compares the head file with the table; a reason when they disagree. */
export async function headMismatch(store: Store, file: AuditHead | undefined, state: AuditChainState): Promise<string | undefined> {
  if (!file) return state.head ? `there is no head file, but the table's chain ends at seq ${state.head.seq}` : undefined;
  if (!state.head || BigInt(file.seq) > BigInt(state.head.seq)) {
    return `the head file says the chain ends at seq ${file.seq}, but the table's chain ${state.head ? `ends at seq ${state.head.seq}` : 'is empty'}`;
  }
  const [row] = await store.readAuditChain({ after_seq: (BigInt(file.seq) - 1n).toString(), limit: 1 });
  if (!row || row.seq !== file.seq || row.hash !== file.hash) return `the table's row at seq ${file.seq} does not have the hash the head file records`;
  return undefined;
}

/** Attaches the chain key and the head file to `store` (see the file comment). */
export async function openAuditChain(store: Store, options: AuditChainStartOptions): Promise<AuditChainStart> {
  const { key, path, created } = options.createKey === false
    ? { ...(await readAuditKey(options.dataDir)), created: false }
    : await loadOrCreateAuditKey(options.dataDir);
  if (created) options.log(`audit: created the audit chain key ${path} (keep it with backups of the data directory, apart from the database)`);
  const headFile = new AuditHeadFile(options.dataDir);
  const file = await headFile.read().catch((error: unknown) => {
    options.log(`audit: ${(error as Error).message}`);
    return null;
  });
  const before = await store.auditChainState();
  const frozen = file === null ? `${headFile.path} cannot be read` : await headMismatch(store, file, before);
  if (frozen) {
    options.log(`audit: WARNING ${frozen}. Rows may have been removed or the chain rebuilt. ${headFile.path} is left as it is; run \`promethean audit verify\`.`);
  }
  const used = await store.useAuditChain({
    key,
    // Rows from before the chain are chained only on a trustworthy first start.
    seal: !frozen,
    onHead: (head) => (frozen ? undefined : headFile.write(head, { onlyForward: true })),
  });
  // A head file left behind by a crash between a commit and its write catches up.
  if (!frozen && used.head && (!file || file.seq !== used.head.seq)) await headFile.write(used.head, { onlyForward: true });
  if (used.sealed > 0) options.log(`audit: chained ${used.sealed} audit rows written before the chain (seq 1 to ${used.sealed})`);
  if (used.unchained > 0) options.log(`audit: WARNING ${used.unchained} audit rows are outside the chain (first id ${used.first_unchained_id}); run \`promethean audit verify\``);
  return { head: used.head, sealed: used.sealed, frozen };
}

/**
 * The server's start: {@link openAuditChain}, then a `listen.stop` (reason `server restarted`) for
 * every listen a crash left open. Call it before anything can start a new listen.
 */
export async function startAuditLog(store: Store, options: AuditChainStartOptions): Promise<AuditChainStart> {
  const started = await openAuditChain(store, options);
  const closed = await store.closeOpenListens('server restarted');
  if (closed.length > 0) options.log(`audit: closed ${closed.length} listen(s) left open by the previous run`);
  return started;
}
