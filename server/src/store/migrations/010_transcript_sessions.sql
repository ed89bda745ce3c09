-- Which guild and channel each voice session with transcripts belongs to (issue 11): transcript rows
-- carry no guild, so the server records what the relay announced for each live session. Scope checks
-- of guild-limited sessions (transcript history, deletion per user within a guild) read it.
-- A session id reused in another guild moves the row (the newest announcement wins).
CREATE TABLE transcript_sessions (
  provider    text        NOT NULL,
  tenant      text        NOT NULL,
  session_id  text        NOT NULL,
  guild_id    text        NOT NULL,
  channel_id  text        NOT NULL,
  first_seen  timestamptz NOT NULL DEFAULT now(),
  last_seen   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, tenant, session_id)
);
CREATE INDEX transcript_sessions_guild ON transcript_sessions (provider, tenant, guild_id, channel_id);
