/** The LLM's reply to a transcript (seeds: Duck contract "reply.message"). TTS speaks it. */
import { z } from 'zod';

export const ReplyMessage = z.object({
  session_id: z.string().min(1).max(128),
  /** The transcript segment this replies to; with session_id the idempotency key. */
  segment_id: z.string().min(1).max(128),
  text: z.string().min(1).max(8000),
  /** Optional: what the model thought mattered (seeds). Never spoken. */
  reasoning_hint: z.string().max(2000).optional(),
  /** Time from the transcript to this reply, ms. */
  latency_ms: z.number().nonnegative(),
  /** Whether the TTS worker should speak it (false: text only). */
  speak: z.boolean().default(true),
  finish_reason: z.enum(['stop', 'length', 'filtered', 'error']).optional(),
  usage: z
    .object({
      prompt_tokens: z.number().int().nonnegative(),
      completion_tokens: z.number().int().nonnegative(),
    })
    .optional(),
});
export type ReplyMessage = z.infer<typeof ReplyMessage>;

export const replyPayloads = { 'duck.reply.message': ReplyMessage } as const;
