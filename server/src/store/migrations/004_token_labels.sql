-- Invitations: the name of the person a login or session was made for, and the lifetime the
-- session made from a login gets.
ALTER TABLE tokens ADD COLUMN label text CHECK (label IS NULL OR length(label) BETWEEN 1 AND 200);
ALTER TABLE tokens ADD COLUMN session_ttl_s integer CHECK (session_ttl_s IS NULL OR session_ttl_s BETWEEN 60 AND 2592000);
CREATE INDEX tokens_active_sessions ON tokens (kind, expires_at) WHERE revoked_at IS NULL;
