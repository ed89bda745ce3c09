/**
 * `COPY … FROM STDIN` for the PostgreSQL driver. `pg` speaks the COPY sub-protocol only through
 * pg-copy-streams (a writable stream per COPY statement); this feeds it CSV text in chunks so one
 * large call is never one large buffer.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** UTF-16 code units per chunk written to the COPY stream. */
export const COPY_CHUNK_CHARS = 1 << 20;

/**
 * Yields `text` in pieces of about `size` code units, never splitting a surrogate pair (a lone half
 * would be encoded as U+FFFD and change the data).
 */
export function* textChunks(text: string, size: number = COPY_CHUNK_CHARS): Generator<string> {
  if (!Number.isInteger(size) || size < 2) throw new RangeError(`textChunks: size must be an integer ≥ 2, got ${size}`);
  let start = 0;
  while (start < text.length) {
    let end = Math.min(start + size, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    yield text.slice(start, end);
    start = end;
  }
}

/**
 * `COPY table (columns) FROM STDIN WITH (FORMAT csv)` on one connection, `csv` as its input; resolves
 * to the rows the server copied. `table` and `columns` are the caller's own identifiers, never input.
 */
export async function copyCsvFrom(conn: pg.ClientBase, table: string, columns: readonly string[], csv: string, chunkChars: number = COPY_CHUNK_CHARS): Promise<number> {
  const chunks = textChunks(csv, chunkChars);
  const stream = conn.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN WITH (FORMAT csv)`));
  await pipeline(Readable.from(chunks), stream);
  return stream.rowCount;
}
