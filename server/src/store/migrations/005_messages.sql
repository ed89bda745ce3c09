-- The text layer's index (issue 12): messages gain the thread they belong to, a deletion mark and a
-- content hash; attachments are kept as metadata, deduplicated by the sha-256 of their bytes; backfill
-- jobs keep a resumable cursor. Messages stay keyed on (provider, tenant, foreign_id): the message id.

-- deleted_at: a deletion seen live (the row stays so a late backfill page cannot bring it back).
-- content_hash: sha-256 of the UTF-8 content, computed by the database, so embedders are idempotent by it.
-- convert_to() is only STABLE (it depends on the encoding); the database's encoding is fixed at UTF8, so
-- wrapping it as IMMUTABLE is sound and lets a generated column use it.
CREATE FUNCTION promethean_content_sha256(content text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ SELECT encode(sha256(convert_to(content, 'UTF8')), 'hex') $$;

ALTER TABLE messages
  ADD COLUMN thread_id    text,
  ADD COLUMN deleted_at   timestamptz,
  ADD COLUMN content_hash text GENERATED ALWAYS AS (promethean_content_sha256(content)) STORED;

-- One row per distinct content: what a sha-256 names, whoever posted it.
CREATE TABLE attachment_blobs (
  sha256        text        PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size          bigint      NOT NULL CHECK (size >= 0),
  content_type  text        NOT NULL,
  first_seen    timestamptz NOT NULL DEFAULT now()
);

-- One row per attachment of a message; foreign_id is the provider's attachment id. status 'stored' has
-- a blob; 'oversize' and 'failed' record why not (so the indexer does not fetch it again and again).
CREATE TABLE attachments (
  provider       text        NOT NULL,
  tenant         text        NOT NULL,
  foreign_id     text        NOT NULL,
  message_id     text        NOT NULL,
  channel_id     text,
  filename       text,
  declared_type  text,
  declared_size  bigint,
  status         text        NOT NULL CHECK (status IN ('stored', 'oversize', 'failed')),
  sha256         text        REFERENCES attachment_blobs (sha256),
  error          text,
  indexed_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, tenant, foreign_id),
  CHECK ((status = 'stored') = (sha256 IS NOT NULL))
);
CREATE INDEX attachments_sha256 ON attachments (sha256);

-- History backfill jobs: next_before is the cursor a restarted indexer resumes from.
CREATE TABLE backfill_jobs (
  provider      text        NOT NULL,
  tenant        text        NOT NULL,
  job_id        text        NOT NULL,
  channel_id    text        NOT NULL,
  status        text        NOT NULL CHECK (status IN ('running', 'done', 'error')),
  before_id     text,
  after_id      text,
  max_messages  integer     NOT NULL CHECK (max_messages >= 1),
  next_before   text,
  fetched       integer     NOT NULL DEFAULT 0,
  duplicates    integer     NOT NULL DEFAULT 0,
  oldest_id     text,
  reason        text,
  error         text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, tenant, job_id)
);
CREATE INDEX backfill_jobs_running ON backfill_jobs (provider, tenant) WHERE status = 'running';
