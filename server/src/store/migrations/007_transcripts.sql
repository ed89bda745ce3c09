-- Live transcripts (issue 11): the STT worker's duck.transcript.segment, kept by the server's
-- transcript indexer. Rows stay keyed on (provider, tenant, '{session_id}:{segment_id}'); a final
-- result replaces a partial one of the same segment, never the other way round.

-- final: false while a streaming recogniser may still revise the segment.
-- words: [{ word, start_ms, end_ms, p? }] with offsets from start_ns (the session clock).
-- transcribed_at: when the transcript was made (its envelope's ts); retention deletes by it.
ALTER TABLE transcript_segments
  ADD COLUMN final           boolean          NOT NULL DEFAULT true,
  ADD COLUMN words           jsonb            NOT NULL DEFAULT '[]'::jsonb,
  ADD COLUMN tokens          integer          CHECK (tokens >= 0),
  ADD COLUMN rtf             double precision CHECK (rtf >= 0),
  ADD COLUMN transcribed_at  timestamptz      NOT NULL DEFAULT now();

-- Deletion per user, and retention per tenant.
CREATE INDEX transcript_segments_speaker ON transcript_segments (provider, tenant, speaker_id);
CREATE INDEX transcript_segments_transcribed ON transcript_segments (provider, tenant, transcribed_at);
