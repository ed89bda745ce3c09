/**
 * Moderation signals: a per-guild watch rule matched a transcript (`moderation.flag`). The server's
 * matcher publishes one when it raises a flag and again, with the new `status`, when a moderator
 * acknowledges or dismisses it; consumers keep the latest per `flag_id`.
 */
import { z } from 'zod';
import { BigIntString, ForeignId } from './common.ts';

export const ModerationRuleKind = z.enum(['phrase', 'regex', 'semantic']);
export type ModerationRuleKind = z.infer<typeof ModerationRuleKind>;

export const ModerationFlagStatus = z.enum(['open', 'acknowledged', 'dismissed']);
export type ModerationFlagStatus = z.infer<typeof ModerationFlagStatus>;

/** Where in the transcript the rule matched: UTF-16 offsets into `text`, and the monotonic clock of that span. */
export const ModerationSpan = z.object({
  start: z.number().int().nonnegative(),
  end: z.number().int().nonnegative(),
  /** The matched words as spoken (at most 2,000 characters). */
  text: z.string().max(2000),
  /** Monotonic ns of the span's first and last sample (the words' timing when known, else the segment's). */
  start_ns: BigIntString,
  end_ns: BigIntString,
});

/** The audio clip of the span (padded, within the segment): the console cuts it and its spectrogram from replay, or fetches the server's copy when `stored`. */
export const ModerationClip = z.object({
  start_ns: BigIntString,
  end_ns: BigIntString,
  /** The server kept the clip (`GET /api/flags/<id>/clip`); false when no PCM of that span reached it. */
  stored: z.boolean(),
});

export const ModerationFlag = z.object({
  /** The store's id of the flag (decimal). */
  flag_id: z.string().regex(/^[1-9][0-9]{0,18}$/, 'must be a decimal id'),
  status: ModerationFlagStatus,
  rule_id: z.string().min(1).max(64),
  rule_kind: ModerationRuleKind,
  /** The rule's label, as it was when it matched. */
  rule_label: z.string().max(200).optional(),
  guild_id: ForeignId,
  channel_id: ForeignId.optional(),
  session_id: z.string().min(1).max(128),
  segment_id: z.string().min(1).max(128),
  /** The speaker's user id. */
  speaker: ForeignId,
  /** The transcript segment's text. */
  text: z.string().max(20000),
  span: ModerationSpan,
  clip: ModerationClip,
  /** Cosine similarity of a semantic match. */
  score: z.number().min(-1).max(1).optional(),
  created_at: z.iso.datetime({ offset: true }),
  /** Who acknowledged or dismissed it, and when (absent while open). */
  decided_by: z.string().min(1).max(128).optional(),
  decided_at: z.iso.datetime({ offset: true }).optional(),
});
export type ModerationFlag = z.infer<typeof ModerationFlag>;

export const moderationPayloads = { 'moderation.flag': ModerationFlag } as const;
