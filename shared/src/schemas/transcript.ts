/** Speech-to-text output (seeds: Duck contract "transcript.segment"; "duck" is an intent area). */
import { z } from 'zod';
import { BigIntString, ForeignId } from './common.ts';

/** Refines run even after a field failed its own check: only compare values that are decimal integers. */
const DECIMAL = /^[0-9]+$/;

export const TranscriptWord = z.object({
  word: z.string().min(1).max(256),
  /** Offsets from the segment start, in ms. */
  start_ms: z.number().nonnegative(),
  end_ms: z.number().nonnegative(),
  /** Probability of this word, 0..1. */
  p: z.number().min(0).max(1).optional(),
});

export const TranscriptSegment = z
  .object({
    session_id: z.string().min(1).max(128),
    /** The `voice.audio.segment` this text was recognised from; with session_id the idempotency key. */
    segment_id: z.string().min(1).max(128),
    /** User id of the speaker (the provider's id, e.g. a Discord snowflake). */
    speaker: ForeignId,
    text: z.string().max(20000),
    /** Monotonic clock of the segment's first and last sample (bigint ns as decimal strings). */
    ts_start_ns: BigIntString,
    ts_end_ns: BigIntString,
    /** Mean token confidence, 0..1. */
    confidence: z.number().min(0).max(1),
    tokens: z.number().int().nonnegative(),
    /** Time from segment end to this transcript, ms. */
    latency_ms: z.number().nonnegative(),
    /** Real-time factor of the recognition (processing time / audio time). */
    rtf: z.number().nonnegative().optional(),
    /** BCP 47 language tag the recogniser detected or was told. */
    language: z.string().min(2).max(35).optional(),
    /** False while a streaming recogniser may still revise this segment. */
    final: z.boolean().default(true),
    words: z.array(TranscriptWord).max(5000).optional(),
  })
  .refine((v) => !DECIMAL.test(v.ts_end_ns) || !DECIMAL.test(v.ts_start_ns) || BigInt(v.ts_end_ns) >= BigInt(v.ts_start_ns), {
    message: 'ts_end_ns must not be before ts_start_ns',
    path: ['ts_end_ns'],
  });
export type TranscriptSegment = z.infer<typeof TranscriptSegment>;

export const transcriptPayloads = { 'duck.transcript.segment': TranscriptSegment } as const;
