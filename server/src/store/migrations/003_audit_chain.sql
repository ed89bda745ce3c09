-- The audit log becomes a hash chain. Each row gets seq (gap-free, 1, 2, 3, … across the whole log),
-- prev_hash (the hash of seq - 1; 64 zeros for seq 1) and hash = HMAC-SHA256(key, canonical row),
-- computed by the server with a key kept outside the database (see server/src/store/audit-chain.ts).
--
-- Rows written before this migration have no chain columns yet. The first start that holds the key
-- chains them in id order (useAuditChain); the trigger below lets each such row be sealed exactly once,
-- with its other columns untouched. Every other UPDATE, every DELETE and TRUNCATE stay refused.

ALTER TABLE audit_log
  ADD COLUMN seq       bigint,
  ADD COLUMN prev_hash text,
  ADD COLUMN hash      text,
  ADD CONSTRAINT audit_log_chain_complete CHECK ((seq IS NULL) = (prev_hash IS NULL) AND (seq IS NULL) = (hash IS NULL)),
  ADD CONSTRAINT audit_log_seq_positive CHECK (seq >= 1),
  ADD CONSTRAINT audit_log_hash_hex CHECK (hash ~ '^[0-9a-f]{64}$' AND prev_hash ~ '^[0-9a-f]{64}$');

-- One row per seq and one successor per hash: two appends can never fork the chain.
CREATE UNIQUE INDEX audit_log_seq ON audit_log (seq);
CREATE UNIQUE INDEX audit_log_prev_hash ON audit_log (prev_hash);
-- Rows outside the chain (sealing, verification).
CREATE INDEX audit_log_unchained ON audit_log (id) WHERE seq IS NULL;
-- `promethean audit export --since`.
CREATE INDEX audit_log_at ON audit_log (at);

CREATE OR REPLACE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
     AND (NEW.id, NEW.at, NEW.provider, NEW.tenant, NEW.guild_id, NEW.channel_id, NEW.actor, NEW.action,
          NEW.token_id_hash, NEW.detail)
         IS NOT DISTINCT FROM
         (OLD.id, OLD.at, OLD.provider, OLD.tenant, OLD.guild_id, OLD.channel_id, OLD.actor, OLD.action,
          OLD.token_id_hash, OLD.detail) THEN
    -- Sealing a row from before the chain: once, and only its chain columns.
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
