-- Text embeddings of the one embedding model (all-MiniLM-L6-v2, 384 dimensions) for semantic search,
-- per tenant namespace (provider, tenant) and source kind ('message', 'transcript', …). content_hash
-- (sha-256 of the model id and the text) makes indexing idempotent: an unchanged text is not embedded
-- again. space_id / channel_id let a search stay inside the guilds and channels a session may read.
-- No foreign key: the rows a vector belongs to live in different tables per kind.

CREATE TABLE text_embeddings (
  provider      text         NOT NULL,
  tenant        text         NOT NULL,
  kind          text         NOT NULL,
  foreign_id    text         NOT NULL,
  space_id      text,
  channel_id    text,
  content_hash  text         NOT NULL,
  model         text         NOT NULL,
  embedding     vector(384)  NOT NULL,
  updated_at    timestamptz  NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, tenant, kind, foreign_id)
);
CREATE INDEX text_embeddings_hnsw ON text_embeddings USING hnsw (embedding vector_cosine_ops);
CREATE INDEX text_embeddings_scope ON text_embeddings (provider, tenant, space_id, channel_id);
