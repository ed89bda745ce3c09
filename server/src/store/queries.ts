/** The store's SQL, in one place. Both drivers run exactly these statements. */

const MESSAGE_COLUMNS = 'provider, tenant, foreign_id, space_id, channel_id, author_id, content, created_at, edited_at, raw';

/**
 * One statement per batch: ten parallel text arrays unnested into rows. Rows identical to what is stored
 * are left alone (the WHERE of DO UPDATE); `xmax = 0` tells a fresh insert from an update.
 */
export const UPSERT_MESSAGES = `
WITH up AS (
  INSERT INTO messages AS m (${MESSAGE_COLUMNS})
  SELECT p, t, f, s, c, a, body, ca::timestamptz, ea::timestamptz, r::jsonb
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
    AS u(p, t, f, s, c, a, body, ca, ea, r)
  ON CONFLICT (provider, tenant, foreign_id) DO UPDATE SET
    space_id = EXCLUDED.space_id, channel_id = EXCLUDED.channel_id, author_id = EXCLUDED.author_id,
    content = EXCLUDED.content, created_at = EXCLUDED.created_at, edited_at = EXCLUDED.edited_at,
    raw = EXCLUDED.raw, stored_at = now()
  WHERE (m.space_id, m.channel_id, m.author_id, m.content, m.created_at, m.edited_at, m.raw)
    IS DISTINCT FROM (EXCLUDED.space_id, EXCLUDED.channel_id, EXCLUDED.author_id, EXCLUDED.content,
                      EXCLUDED.created_at, EXCLUDED.edited_at, EXCLUDED.raw)
  RETURNING (xmax = 0) AS inserted
)
SELECT (count(*) FILTER (WHERE inserted))::int AS inserted, (count(*) FILTER (WHERE NOT inserted))::int AS updated FROM up`;

/** The same upsert one row at a time: what a user would write first (the benchmark's baseline). */
export const UPSERT_ONE_MESSAGE = `
INSERT INTO messages AS m (${MESSAGE_COLUMNS})
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz, $9::timestamptz, $10::jsonb)
ON CONFLICT (provider, tenant, foreign_id) DO UPDATE SET
  space_id = EXCLUDED.space_id, channel_id = EXCLUDED.channel_id, author_id = EXCLUDED.author_id,
  content = EXCLUDED.content, created_at = EXCLUDED.created_at, edited_at = EXCLUDED.edited_at,
  raw = EXCLUDED.raw, stored_at = now()`;

export const SELECT_MESSAGE = `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE provider = $1 AND tenant = $2 AND foreign_id = $3`;
export const COUNT_MESSAGES = 'SELECT count(*)::int AS n FROM messages WHERE provider = $1 AND tenant = $2';

const SEGMENT_VALUES = 'speaker_id, channel_id, text, start_ns, end_ns, lang, confidence, model';
export const PUT_SEGMENT = `
INSERT INTO transcript_segments AS s (provider, tenant, foreign_id, session_id, segment_id, ${SEGMENT_VALUES})
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::bigint, $10::bigint, $11, $12, $13)
ON CONFLICT (provider, tenant, foreign_id) DO UPDATE SET
  speaker_id = EXCLUDED.speaker_id, channel_id = EXCLUDED.channel_id, text = EXCLUDED.text,
  start_ns = EXCLUDED.start_ns, end_ns = EXCLUDED.end_ns, lang = EXCLUDED.lang,
  confidence = EXCLUDED.confidence, model = EXCLUDED.model, stored_at = now()
WHERE (s.${SEGMENT_VALUES.split(', ').join(', s.')})
  IS DISTINCT FROM (EXCLUDED.${SEGMENT_VALUES.split(', ').join(', EXCLUDED.')})
RETURNING (xmax = 0) AS inserted`;
export const SELECT_SEGMENT = `
SELECT provider, tenant, foreign_id, session_id, segment_id, speaker_id, channel_id, text,
       start_ns::text AS start_ns, end_ns::text AS end_ns, lang, confidence, model
FROM transcript_segments WHERE provider = $1 AND tenant = $2 AND foreign_id = $3`;

const AUDIT_COLUMNS = `id::text AS id, at, provider, tenant, guild_id, channel_id, actor, action, token_id_hash, detail,
  seq::text AS seq, prev_hash, hash`;
/** Advisory lock key ("p-audit" in ASCII): one audit append at a time across every process. */
export const AUDIT_LOCK_KEY = 0x702d6175646974n;
export const AUDIT_LOCK = 'SELECT pg_advisory_xact_lock($1::bigint)';
/** The chain's last row (none while nothing is chained) and the database's clock, to the millisecond. */
export const AUDIT_TAIL = `
SELECT t.seq::text AS seq, t.hash, date_trunc('milliseconds', clock_timestamp()) AS now
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (SELECT seq, hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1) AS t ON true`;
export const APPEND_AUDIT = `
INSERT INTO audit_log (at, provider, tenant, guild_id, channel_id, actor, action, token_id_hash, detail, seq, prev_hash, hash)
VALUES ($1::timestamptz, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::bigint, $11, $12) RETURNING ${AUDIT_COLUMNS}`;
export const LIST_AUDIT = `
SELECT ${AUDIT_COLUMNS} FROM audit_log
WHERE provider = $1 AND tenant = $2 AND ($3::text IS NULL OR guild_id = $3) AND ($4::text IS NULL OR channel_id = $4)
  AND id > coalesce($5::bigint, 0)
ORDER BY audit_log.id LIMIT $6`;
export const READ_AUDIT_CHAIN = `
SELECT ${AUDIT_COLUMNS} FROM audit_log
WHERE seq > coalesce($1::bigint, 0) AND ($2::bigint IS NULL OR seq <= $2::bigint) AND ($3::timestamptz IS NULL OR at >= $3::timestamptz)
ORDER BY audit_log.seq LIMIT $4`;
export const AUDIT_UNCHAINED = `
SELECT count(*)::int AS unchained, min(id)::text AS first_unchained_id FROM audit_log WHERE seq IS NULL`;
/** Rows from before the chain, oldest first (sealing). */
export const SELECT_UNCHAINED = `SELECT ${AUDIT_COLUMNS} FROM audit_log WHERE seq IS NULL ORDER BY audit_log.id LIMIT $1`;
/** Chains rows from before the chain; the trigger allows this once per row, other columns untouched. */
export const SEAL_AUDIT = `
UPDATE audit_log AS a SET seq = u.seq, prev_hash = u.prev_hash, hash = u.hash
FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) AS u(id, seq, prev_hash, hash)
WHERE a.id = u.id AND a.seq IS NULL`;
/**
 * Every listen.start without a listen.stop of the same listener (and tenant). Rows written before the
 * detail was stored as an object hold it as a JSON string: the listener id is read from its text.
 */
export const OPEN_LISTENS = `
WITH ev AS (
  SELECT ${AUDIT_COLUMNS},
    CASE jsonb_typeof(detail)
      WHEN 'object' THEN detail ->> 'listener_id'
      WHEN 'string' THEN substring(detail #>> '{}' FROM '"listener_id":"([^"]*)"')
    END AS listener_id
  FROM audit_log WHERE action IN ('listen.start', 'listen.stop')
)
SELECT s.* FROM ev AS s
WHERE s.action = 'listen.start' AND s.listener_id IS NOT NULL
  AND NOT EXISTS (
    SELECT 1 FROM ev AS e
    WHERE e.action = 'listen.stop' AND e.listener_id = s.listener_id AND e.provider = s.provider AND e.tenant = s.tenant
  )
ORDER BY s.id::bigint`;

const TOKEN_COLUMNS = 'token_hash, kind, role, scope, created_at, expires_at, used_at, revoked_at, label, session_ttl_s';
export const INSERT_TOKEN = `
INSERT INTO tokens (token_hash, kind, role, scope, expires_at, label, session_ttl_s) VALUES ($1, $2, $3, $4::jsonb, $5::timestamptz, $6, $7)
ON CONFLICT (token_hash) DO NOTHING`;
/** Sessions still valid at $1, newest first, whose scope names tenant $2. */
export const LIST_SESSIONS = `
SELECT ${TOKEN_COLUMNS} FROM tokens
WHERE kind = 'session' AND revoked_at IS NULL AND expires_at > $1::timestamptz AND scope @> jsonb_build_array(jsonb_build_object('tenant', $2::text))
ORDER BY created_at DESC LIMIT $3`;
export const SELECT_TOKEN = `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE token_hash = $1`;
export const CONSUME_TOKEN = `
UPDATE tokens SET used_at = $2::timestamptz
WHERE token_hash = $1 AND kind = 'login' AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2::timestamptz
RETURNING ${TOKEN_COLUMNS}`;
export const REVOKE_TOKEN = 'UPDATE tokens SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL';

export const VECTOR_AVAILABLE = "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS available";
export const VECTOR_VERSION = "SELECT extversion FROM pg_extension WHERE extname = 'vector'";
export const SET_EMBEDDING = `
INSERT INTO message_embeddings (provider, tenant, foreign_id, model, embedding)
SELECT provider, tenant, foreign_id, $4, $5::vector FROM messages WHERE provider = $1 AND tenant = $2 AND foreign_id = $3
ON CONFLICT (provider, tenant, foreign_id) DO UPDATE SET model = EXCLUDED.model, embedding = EXCLUDED.embedding, updated_at = now()`;
export const SEARCH_MESSAGES = `
SELECT ${MESSAGE_COLUMNS.split(', ').map((c) => `m.${c}`).join(', ')}, (e.embedding <=> $3::vector)::float8 AS distance
FROM message_embeddings e JOIN messages m USING (provider, tenant, foreign_id)
WHERE e.provider = $1 AND e.tenant = $2
ORDER BY e.embedding <=> $3::vector LIMIT $4`;
