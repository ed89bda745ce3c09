/**
 * The little a driver must provide: parameterised queries, multi-statement scripts, transactions.
 * Both drivers speak PostgreSQL, so one SQL implementation (`SqlStore`) serves both.
 */

export interface SqlResult<T> {
  rows: T[];
  /** Rows the statement affected (inserted, updated, deleted or returned). */
  rowCount: number;
}

export interface SqlQueryable {
  /** One statement with `$n` parameters (arrays become PostgreSQL arrays). */
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<SqlResult<T>>;
  /** A script of several statements without parameters (migrations). */
  exec(text: string): Promise<void>;
  /**
   * `COPY table (columns) FROM … WITH (FORMAT csv)` with `csv` as its input; resolves to the rows
   * copied. Absent where the driver cannot feed COPY input (the bulk path then stages with unnest).
   */
  copyCsv?(table: string, columns: readonly string[], csv: string): Promise<number>;
}

export interface SqlClient extends SqlQueryable {
  /** Runs `fn` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  /** Closes the connection(s); idempotent. */
  close(): Promise<void>;
}

/** `'[0.1,0.2,…]'`: the pgvector text form of a vector. */
export function vectorLiteral(values: ArrayLike<number>): string {
  let out = '[';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    out += String(values[i]);
  }
  return `${out}]`;
}

/**
 * Parallel arrays, one per key, for `INSERT … SELECT * FROM unnest($1::text[], …)`: one round trip
 * for a whole batch (the column order is the query's parameter order).
 */
export function columnsOf<T>(batch: readonly T[], keys: readonly (keyof T)[]): (string | null)[][] {
  return keys.map((k) => batch.map((row) => (row[k] ?? null) as string | null));
}
