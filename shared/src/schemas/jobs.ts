/**
 * Message history backfill (seeds: `jobs.backfill.messages.(enqueue|progress|done|error)`). The
 * indexer drives it through `rest.request`; both it and the live path dedupe by message id.
 */
import { z } from 'zod';
import { BigIntString, ForeignId } from './common.ts';

const JobId = z.string().min(1).max(128);

export const BackfillEnqueue = z.object({
  /** Caller-chosen id; progress, done and error carry it back. Enqueueing a known id is a no-op. */
  job_id: JobId,
  channel_id: ForeignId,
  /** Start from this message id (snowflake) going back; newest when omitted. */
  before: BigIntString.optional(),
  /** Stop at this message id going back. */
  after: BigIntString.optional(),
  /** Most messages to fetch. */
  limit: z.number().int().min(1).max(1_000_000).default(1000),
});

export const BackfillProgress = z.object({
  job_id: JobId,
  channel_id: ForeignId,
  /** Messages fetched so far. */
  fetched: z.number().int().nonnegative(),
  /** Cursor for the next page (the oldest id seen); absent when history is exhausted. */
  next_before: BigIntString.optional(),
});

export const BackfillDone = z.object({
  job_id: JobId,
  channel_id: ForeignId,
  fetched: z.number().int().nonnegative(),
  /** Messages that were already stored (dedupe hits). */
  duplicates: z.number().int().nonnegative().default(0),
  oldest_id: BigIntString.optional(),
  duration_ms: z.number().nonnegative(),
  /** Why it stopped: history exhausted, limit reached, or the `after` id met. */
  reason: z.enum(['exhausted', 'limit', 'after']),
});

export const BackfillError = z.object({
  job_id: JobId,
  channel_id: ForeignId,
  fetched: z.number().int().nonnegative(),
  message: z.string().max(2000),
  /** HTTP status of the failing REST call, when there was one. */
  status: z.number().int().min(0).max(599).optional(),
  retryable: z.boolean().default(false),
});

export const jobsPayloads = {
  'jobs.backfill.messages.enqueue': BackfillEnqueue,
  'jobs.backfill.messages.progress': BackfillProgress,
  'jobs.backfill.messages.done': BackfillDone,
  'jobs.backfill.messages.error': BackfillError,
} as const;
