-- Social messages, transcript segments, the audit log and tokens.
-- Every row carries provider and tenant; keyed rows are unique on (provider, tenant, foreign_id).

CREATE TABLE messages (
  provider    text        NOT NULL,
  tenant      text        NOT NULL,
  foreign_id  text        NOT NULL,
  space_id    text        NOT NULL,
  channel_id  text        NOT NULL,
  author_id   text        NOT NULL,
  content     text        NOT NULL,
  created_at  timestamptz NOT NULL,
  edited_at   timestamptz,
  raw         jsonb       NOT NULL DEFAULT '{}'::jsonb,
  stored_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, tenant, foreign_id)
);
CREATE INDEX messages_channel_created ON messages (provider, tenant, channel_id, created_at);

-- foreign_id = '{session_id}:{segment_id}': workers are idempotent by it.
CREATE TABLE transcript_segments (
  provider    text        NOT NULL,
  tenant      text        NOT NULL,
  foreign_id  text        NOT NULL,
  session_id  text        NOT NULL,
  segment_id  text        NOT NULL,
  speaker_id  text        NOT NULL,
  channel_id  text,
  text        text        NOT NULL,
  start_ns    bigint      NOT NULL,
  end_ns      bigint      NOT NULL,
  lang        text,
  confidence  double precision,
  model       text,
  stored_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, tenant, foreign_id),
  CHECK (foreign_id = session_id || ':' || segment_id),
  CHECK (end_ns >= start_ns)
);
CREATE INDEX transcript_segments_session ON transcript_segments (provider, tenant, session_id, start_ns);

-- Who listened to which tenant / guild / channel, when. Append-only: a trigger refuses UPDATE and DELETE.
CREATE TABLE audit_log (
  id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at             timestamptz NOT NULL DEFAULT clock_timestamp(),
  provider       text        NOT NULL,
  tenant         text        NOT NULL,
  guild_id       text,
  channel_id     text,
  actor          text        NOT NULL,
  action         text        NOT NULL,
  token_id_hash  text,
  detail         jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_tenant ON audit_log (provider, tenant, id);

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

-- Tokens and sessions: only the sha-256 of the secret is stored. kind: login (one-time), session, agent.
CREATE TABLE tokens (
  token_hash  text        PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  kind        text        NOT NULL CHECK (kind IN ('login', 'session', 'agent')),
  role        text        NOT NULL CHECK (role IN ('owner', 'moderator', 'agent')),
  scope       jsonb       NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  revoked_at  timestamptz
);
CREATE INDEX tokens_expires ON tokens (expires_at);
