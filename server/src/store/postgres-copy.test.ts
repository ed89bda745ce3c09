/**
 * COPY FROM STDIN on real PostgreSQL 15 through pg-copy-streams: chunked CSV input arrives byte for
 * byte (surrogate pairs never split), the row count is the server's, and a row the server refuses
 * fails the COPY and leaves nothing behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { requires } from '../../../test/support/requires.ts';
import { hasPostgres, startPostgres, POSTGRES_INSTALL_HINT, type RunningPostgres } from '../../../test/support/postgres.ts';
import { copyCsvFrom, textChunks } from './postgres-copy.ts';

const TEXT = 'a,"b" 🎙️漢字\r\nünï 𝄞𝄞 end';

describe('textChunks', () => {
  it('cuts text into pieces that join back to it and never end between the halves of a surrogate pair', () => {
    for (const size of [2, 3, 4, 5, 7, 1000]) {
      const pieces = [...textChunks(TEXT, size)];
      expect(pieces.join('')).toBe(TEXT);
      for (const p of pieces) {
        expect(p.length).toBeGreaterThan(0);
        expect(p.length).toBeLessThanOrEqual(size);
        // What the COPY stream writes: each piece as UTF-8 on its own. A split pair would turn into U+FFFD.
        expect(Buffer.from(p, 'utf8').toString('utf8')).toBe(p);
      }
    }
    expect([...textChunks('', 4)]).toEqual([]);
  });

  it('throws RangeError for a size that cannot hold a surrogate pair', () => {
    expect(() => [...textChunks(TEXT, 1)]).toThrow(RangeError);
  });
});

const available = requires('PostgreSQL 15 server', hasPostgres(), POSTGRES_INSTALL_HINT);

describe.skipIf(!available)('copyCsvFrom on PostgreSQL', () => {
  let server: RunningPostgres;
  let client: pg.Client;
  beforeAll(async () => {
    server = await startPostgres();
    client = new pg.Client({ connectionString: server.url });
    await client.connect();
    await client.query('CREATE TABLE t (id int PRIMARY KEY, body text, note text)');
  }, 60_000);
  afterAll(async () => {
    await client?.end();
    await server?.stop();
  });

  it('copies CSV fed in 3-character chunks exactly, NULL as an unquoted empty field, and reports the rows', async () => {
    const csv = `1,"${TEXT.replaceAll('"', '""')}",\n2,"","x"\n3,"\\.",\n`;
    expect(await copyCsvFrom(client, 't', ['id', 'body', 'note'], csv, 3)).toBe(3);
    const r = await client.query('SELECT id, body, note FROM t ORDER BY id');
    expect(r.rows).toEqual([{ id: 1, body: TEXT, note: null }, { id: 2, body: '', note: 'x' }, { id: 3, body: '\\.', note: null }]);
  });

  it('rejects with the server\'s error when a row does not fit, and copies none of them', async () => {
    await client.query('BEGIN');
    const err = await copyCsvFrom(client, 't', ['id', 'body', 'note'], '10,"ok",\nnot-a-number,"bad",\n').catch((e: unknown) => e);
    await client.query('ROLLBACK');
    expect(err).toBeInstanceOf(Error);
    expect((err as { code?: string }).code).toBe('22P02'); // invalid_text_representation, from the server
    expect((await client.query('SELECT count(*)::int AS n FROM t WHERE id = 10')).rows[0].n).toBe(0);
    // The connection is usable afterwards.
    expect(await copyCsvFrom(client, 't', ['id', 'body', 'note'], '11,"after",\n')).toBe(1);
  });
});
