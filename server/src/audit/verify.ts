/**
 * Verification of the audit chain: walks every chained row in seq order, recomputes each HMAC with the
 * key, checks that seq has no gaps and that each `prev_hash` is the previous row's hash, then compares
 * the table's end with the head file. The first problem is named by its row:
 *
 * - `edited`      a row's hash does not match its contents (changed after it was written);
 * - `deleted`     seq jumps, or `prev_hash` is not the previous row's hash (a row was removed or replaced);
 * - `rekeyed`     from some row on, every row fails the HMAC while the links between them hold: the chain
 *                 was rebuilt with another key;
 * - `truncated`   the head file names a later seq than the table holds;
 * - `head_mismatch` the table's row at the head file's seq has another hash;
 * - `head_missing`  the table has a chain but there is no head file;
 * - `unchained`   rows with no place in the chain (inserted without the key).
 */
import type { AuditHead, AuditRecord, Store } from '../store/index.ts';
import { GENESIS_HASH, auditHash, sameHash } from '../store/index.ts';

export type AuditProblemKind = 'edited' | 'deleted' | 'rekeyed' | 'truncated' | 'head_mismatch' | 'head_missing' | 'unchained';

export interface AuditProblem {
  kind: AuditProblemKind;
  /** The row named, when there is one. */
  seq: string | null;
  id: string | null;
  message: string;
}

export interface AuditVerifyResult {
  ok: boolean;
  /** Chained rows checked. */
  rows: number;
  /** The table's last row. */
  head: AuditHead | null;
  /** What the head file holds (undefined: no file). */
  headFile: AuditHead | undefined;
  /** The first problem found. */
  problem: AuditProblem | undefined;
  /** Things worth saying that are not problems (the head file behind the table after a crash). */
  notes: string[];
}

export interface AuditVerifyOptions {
  /** The head file's contents; undefined when there is none. */
  headFile: AuditHead | undefined;
  /** Rows read per query. */
  pageSize: number;
  /** Skip the head file comparison (`--reset-head` checks the rows only). */
  ignoreHead: boolean;
}

const defaultAuditVerifyOptions: AuditVerifyOptions = { headFile: undefined, pageSize: 5000, ignoreHead: false };

const where = (r: AuditRecord): string => `row seq ${r.seq} (id ${r.id}, ${r.at}, ${r.action} by ${r.actor})`;

export async function verifyAuditChain(store: Store, key: Uint8Array, options: Partial<AuditVerifyOptions> = {}): Promise<AuditVerifyResult> {
  const o = { ...defaultAuditVerifyOptions, ...options };
  let problem: AuditProblem | undefined;
  let expected = 1n;
  let prevHash = GENESIS_HASH;
  let rows = 0;
  let last: AuditRecord | undefined;
  // After the first row whose HMAC fails: does every later row fail too (another key) or not (an edit)?
  let firstBadHash: AuditRecord | undefined;
  let laterRows = 0;
  let laterBad = 0;
  let after: string | undefined;
  for (;;) {
    const page = await store.readAuditChain({ ...(after ? { after_seq: after } : {}), limit: o.pageSize });
    for (const row of page) {
      rows++;
      const seq = BigInt(row.seq!);
      const hashOk = sameHash(row.hash, auditHash(key, { ...row, seq: row.seq!, prev_hash: row.prev_hash! }));
      if (firstBadHash) {
        laterRows++;
        if (!hashOk) laterBad++;
      }
      if (!problem) {
        if (seq !== expected) {
          const missing = seq - 1n > expected ? `seq ${expected} to ${seq - 1n} are` : `seq ${expected} is`;
          problem = { kind: 'deleted', seq: row.seq, id: row.id, message: `${missing} missing: the chain jumps from seq ${expected - 1n} to ${where(row)}; rows were deleted` };
        } else if (row.prev_hash !== prevHash) {
          problem = { kind: 'deleted', seq: row.seq, id: row.id, message: `${where(row)}: prev_hash is not the hash of seq ${seq - 1n}; a row before it was deleted or replaced` };
        } else if (!hashOk) {
          firstBadHash = row;
          problem = { kind: 'edited', seq: row.seq, id: row.id, message: `${where(row)}: hash mismatch; the row was changed after it was written (or written with another key)` };
        }
      }
      expected = seq + 1n;
      prevHash = row.hash ?? '';
      last = row;
    }
    if (page.length < o.pageSize) break;
    after = page[page.length - 1]!.seq!;
  }
  if (problem?.kind === 'edited' && firstBadHash && laterRows > 0 && laterBad === laterRows) {
    problem = {
      ...problem,
      kind: 'rekeyed',
      message: `${where(firstBadHash)} and all ${laterRows} rows after it fail the HMAC with this key while their links hold: the chain was rebuilt with another key from seq ${firstBadHash.seq}`,
    };
  }
  const head = last ? { seq: last.seq!, hash: last.hash! } : null;
  const notes: string[] = [];
  const state = await store.auditChainState();
  if (!problem && state.unchained > 0) {
    problem = {
      kind: 'unchained',
      seq: null,
      id: state.first_unchained_id,
      message: `row id ${state.first_unchained_id} (and ${state.unchained - 1} more) has no place in the chain: inserted without the chain key`,
    };
  }
  if (!problem && !o.ignoreHead) problem = await compareHead(store, head, o.headFile, notes);
  return { ok: problem === undefined, rows, head, headFile: o.headFile, problem, notes };
}

async function compareHead(store: Store, head: AuditHead | null, file: AuditHead | undefined, notes: string[]): Promise<AuditProblem | undefined> {
  if (!file) {
    if (!head) return undefined;
    return { kind: 'head_missing', seq: head.seq, id: null, message: `there is no head file, but the chain has rows up to seq ${head.seq}; removed rows at the end could not be told` };
  }
  if (!head || BigInt(file.seq) > BigInt(head.seq)) {
    const end = head ? `ends at seq ${head.seq}` : 'is empty';
    const gone = head ? `seq ${BigInt(head.seq) + 1n} to ${file.seq}` : `seq 1 to ${file.seq}`;
    return { kind: 'truncated', seq: file.seq, id: null, message: `the head file says the chain ends at seq ${file.seq}, but the table ${end}: rows ${gone} were removed (truncated)` };
  }
  const [row] = await store.readAuditChain({ after_seq: (BigInt(file.seq) - 1n).toString(), limit: 1 });
  if (!row || !sameHash(row.hash, file.hash)) {
    return {
      kind: 'head_mismatch',
      seq: file.seq,
      id: row?.id ?? null,
      message: `row seq ${file.seq}${row ? ` (id ${row.id})` : ''} does not have the hash the head file records: the chain was rebuilt or the head file replaced`,
    };
  }
  if (BigInt(file.seq) < BigInt(head.seq)) {
    notes.push(`the head file is ${BigInt(head.seq) - BigInt(file.seq)} row(s) behind the table (seq ${file.seq}); the rows after it verify with the key`);
  }
  return undefined;
}

/** One line for the operator. */
export function describeVerifyResult(r: AuditVerifyResult): string {
  if (r.problem) return `audit log FAILED verification: ${r.problem.message}`;
  const end = r.head ? `seq 1 to ${r.head.seq}, head ${r.head.hash.slice(0, 16)}…` : 'the log is empty';
  return `audit log OK: ${r.rows} rows chained (${end})${r.notes.length > 0 ? `; note: ${r.notes.join('; ')}` : ''}`;
}
