/**
 * The console's bot controls (issue 11): which brains answer in which guild, switched by an owner at
 * run time, and the line a console session types for the bot to say.
 *
 * - `cephalon.toggles` (server → cephalon-voice, cephalon-social): the whole switch table of one
 *   (provider, tenant), published when an owner changes a switch, at the server's start, every 30 s and
 *   when a worker asks. A worker replaces what it knew of that tenant with it.
 * - `cephalon.toggles.query` (a cephalon worker → server, under `promethean`/`system`): "send me every
 *   tenant's table" (a worker that just started).
 *
 * "Say this" travels as the existing `duck.reply.message` (the TTS worker speaks it like any reply) from
 * `client:<session id>`; the hub holds a session's such message to {@link ConsoleSayLine}.
 */
import { z } from 'zod';
import { ForeignId } from './common.ts';

/** The two brains an owner switches per guild. */
export const BrainName = z.enum(['voice', 'social']);
export type BrainName = z.infer<typeof BrainName>;

/** Longest line a console session may have the bot say, characters. */
export const MAX_SAY_CHARS = 300;

export const BrainToggle = z.object({
  guild_id: ForeignId,
  brain: BrainName,
  enabled: z.boolean(),
  /** Who set it last (an actor as the audit log names it). */
  updated_by: z.string().min(1).max(200),
  updated_at: z.iso.datetime({ offset: true }),
});
export type BrainToggle = z.infer<typeof BrainToggle>;

/** One tenant's switch table; a guild or brain not listed follows cephalon.yml (off unless it says on). */
export const CephalonToggles = z.object({
  toggles: z.array(BrainToggle).max(20_000),
});

export const CephalonTogglesQuery = z.object({
  /** The worker asking (its agent id). */
  worker: z.string().min(1).max(128),
});

/**
 * The `duck.reply.message` a console session may publish ("say this"): a fresh `say:<id>` segment
 * (so the TTS worker's idempotence never swallows it and no LLM reply is mistaken for it), spoken,
 * one line of at most {@link MAX_SAY_CHARS} characters, no control characters.
 */
export const ConsoleSayLine = z.object({
  session_id: z.string().min(1).max(128),
  segment_id: z.string().regex(/^say:[A-Za-z0-9_-]{8,64}$/, 'must be say:<8 to 64 of [A-Za-z0-9_-]>'),
  text: z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(MAX_SAY_CHARS, `at most ${MAX_SAY_CHARS} characters`)
    // eslint-disable-next-line no-control-regex
    .regex(/^[^\u0000-\u001f\u007f]*$/, 'one line without control characters'),
  latency_ms: z.number().nonnegative(),
  speak: z.literal(true),
});
export type ConsoleSayLine = z.infer<typeof ConsoleSayLine>;

export const botPayloads = {
  'cephalon.toggles': CephalonToggles,
  'cephalon.toggles.query': CephalonTogglesQuery,
} as const;
