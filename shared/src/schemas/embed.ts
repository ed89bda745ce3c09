/**
 * Text embeddings as a model service on the bus. The embedder process holds the model and no store:
 * it publishes `embed.vectors` for the texts it embedded (the server's vector writer stores them) and
 * answers `embed.query` with `embed.query.result` (paired by `corr`, the request's id).
 *
 * Vectors never travel as JSON numbers: one binary attachment holds them as little-endian float32,
 * row after row (`items.length` or `count` rows of `dims` values each).
 */
import { z } from 'zod';
import { ERROR_CODES } from '../errors.ts';
import { ForeignId } from './common.ts';

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex sha256');
/** What `source_id` names: `message`, `transcript`, … (the `kind` column of text_embeddings). */
const SourceKind = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'must match [a-z][a-z0-9_-]*');
const ModelId = z.string().min(1).max(128);
const Dims = z.number().int().min(1).max(4096);

/** Most rows in one `embed.vectors` (the hub's frame limit, 1 MiB, bounds the attachment too). */
export const EMBED_VECTORS_MAX_ITEMS = 256;
/** Most texts in one `embed.query`. */
export const EMBED_QUERY_MAX_TEXTS = 32;
/** Longest text of an `embed.query` (the model reads its first 256 tokens). */
export const EMBED_QUERY_MAX_CHARS = 20_000;

export const EmbedVectorItem = z.object({
  kind: SourceKind,
  /** The source's id within its tenant (a message's snowflake). */
  source_id: ForeignId,
  /** Guild (workspace) and channel, for scoped searches; null when the source has none. */
  space_id: ForeignId.nullable().default(null),
  channel_id: ForeignId.nullable().default(null),
  /** sha-256 (hex) of the model id, a NUL and the text: equal hashes mean an equal vector. */
  content_sha256: Sha256,
});

/** `embed.vectors`: one batch of one tenant's vectors, made by one model. */
export const EmbedVectors = z.object({
  /** The model that made every row (`all-MiniLM-L6-v2`). */
  model: ModelId,
  /** Values per row (384). */
  dims: Dims,
  /** How the attachment stores the rows. */
  encoding: z.literal('f32le').default('f32le'),
  items: z.array(EmbedVectorItem).min(1).max(EMBED_VECTORS_MAX_ITEMS),
  /** Index of the attachment holding `items.length × dims` float32 values. */
  attachment: z.number().int().nonnegative(),
});
export type EmbedVectors = z.infer<typeof EmbedVectors>;

/** `embed.query`: texts to embed now (a search's query), answered by `embed.query.result`. */
export const EmbedQuery = z.object({
  texts: z.array(z.string().max(EMBED_QUERY_MAX_CHARS)).min(1).max(EMBED_QUERY_MAX_TEXTS),
  /** The model the asker's stored vectors come from; an embedder with another one answers `unsupported`. */
  model: ModelId.optional(),
});
export type EmbedQuery = z.infer<typeof EmbedQuery>;

export const EmbedQueryResult = z
  .object({
    model: ModelId,
    dims: Dims,
    /** Rows in the attachment (the number of texts asked); 0 with `error`. */
    count: z.number().int().min(0).max(EMBED_QUERY_MAX_TEXTS),
    encoding: z.literal('f32le').default('f32le'),
    /** Index of the attachment holding `count × dims` float32 values. */
    attachment: z.number().int().nonnegative().optional(),
    /** Why no vectors came back. */
    error: z.object({ code: z.enum(ERROR_CODES), message: z.string().max(2000) }).optional(),
  })
  .refine((v) => (v.attachment === undefined) !== (v.error === undefined), { message: 'exactly one of attachment, error', path: ['attachment'] })
  .refine((v) => v.error === undefined || v.count === 0, { message: 'must be 0 with an error', path: ['count'] });
export type EmbedQueryResult = z.infer<typeof EmbedQueryResult>;

export const embedPayloads = {
  'embed.vectors': EmbedVectors,
  'embed.query': EmbedQuery,
  'embed.query.result': EmbedQueryResult,
} as const;
