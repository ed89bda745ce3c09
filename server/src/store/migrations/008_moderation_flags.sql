-- Moderation signals (issue 11): per-guild watch rules that owners edit over HTTP (rules from the
-- config file are not stored: they are read at start), and the flags raised when a rule matched a
-- final transcript. Every row carries provider and tenant; a flag is unique on
-- (provider, tenant, foreign_id) with foreign_id = '{session_id}:{segment_id}:{rule_id}', so a
-- transcript delivered twice raises one flag per rule.

CREATE TABLE moderation_rules (
  provider    text             NOT NULL,
  tenant      text             NOT NULL,
  guild_id    text             NOT NULL,
  rule_id     text             NOT NULL CHECK (rule_id ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
  kind        text             NOT NULL CHECK (kind IN ('phrase', 'regex', 'semantic')),
  label       text,
  -- The phrase, the regular expression, or the text a semantic rule compares against.
  pattern     text             NOT NULL,
  -- Cosine similarity a semantic match must reach; null for the other kinds.
  threshold   double precision CHECK (threshold IS NULL OR (threshold > 0 AND threshold <= 1)),
  enabled     boolean          NOT NULL DEFAULT true,
  updated_by  text             NOT NULL,
  created_at  timestamptz      NOT NULL DEFAULT now(),
  updated_at  timestamptz      NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, tenant, guild_id, rule_id),
  CHECK ((kind = 'semantic') = (threshold IS NOT NULL))
);

CREATE TABLE moderation_flags (
  id             bigint           GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  provider       text             NOT NULL,
  tenant         text             NOT NULL,
  foreign_id     text             NOT NULL,
  guild_id       text             NOT NULL,
  channel_id     text,
  session_id     text             NOT NULL,
  segment_id     text             NOT NULL,
  speaker_id     text             NOT NULL,
  -- The rule as it was when it matched (a later edit or delete does not rewrite history).
  rule_id        text             NOT NULL,
  rule_kind      text             NOT NULL CHECK (rule_kind IN ('phrase', 'regex', 'semantic')),
  rule_label     text,
  rule_pattern   text             NOT NULL,
  text           text             NOT NULL,
  span_start     integer          NOT NULL CHECK (span_start >= 0),
  span_end       integer          NOT NULL CHECK (span_end >= span_start),
  span_text      text             NOT NULL,
  span_start_ns  bigint           NOT NULL,
  span_end_ns    bigint           NOT NULL CHECK (span_end_ns >= span_start_ns),
  clip_start_ns  bigint           NOT NULL,
  clip_end_ns    bigint           NOT NULL CHECK (clip_end_ns >= clip_start_ns),
  -- The clip's audio when the server kept it: s16le mono at clip_rate_hz.
  clip_pcm       bytea,
  clip_rate_hz   integer          CHECK (clip_rate_hz IS NULL OR clip_rate_hz BETWEEN 8000 AND 48000),
  score          double precision,
  status         text             NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'dismissed')),
  created_at     timestamptz      NOT NULL DEFAULT now(),
  decided_by     text,
  decided_at     timestamptz,
  UNIQUE (provider, tenant, foreign_id),
  CHECK ((clip_pcm IS NULL) = (clip_rate_hz IS NULL)),
  CHECK ((status = 'open') = (decided_at IS NULL))
);
CREATE INDEX moderation_flags_guild ON moderation_flags (provider, tenant, guild_id, id);
CREATE INDEX moderation_flags_open ON moderation_flags (provider, tenant, guild_id, id) WHERE status = 'open';
