-- Message embeddings for semantic search. Applied only where pgvector is available (PGlite bundles it;
-- Debian's PostgreSQL 15 does not); a store without it reports capabilities.vector = false.

CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE message_embeddings (
  provider    text         NOT NULL,
  tenant      text         NOT NULL,
  foreign_id  text         NOT NULL,
  model       text         NOT NULL,
  embedding   vector(512)  NOT NULL,
  updated_at  timestamptz  NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, tenant, foreign_id),
  FOREIGN KEY (provider, tenant, foreign_id) REFERENCES messages (provider, tenant, foreign_id) ON DELETE CASCADE
);
CREATE INDEX message_embeddings_hnsw ON message_embeddings USING hnsw (embedding vector_cosine_ops);
