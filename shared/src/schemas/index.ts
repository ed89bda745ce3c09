/**
 * Payload schemas of every known intent, one file per area. Intents not listed here pass through
 * unvalidated so old and new agents can run side by side.
 */
import type { z } from 'zod';
import { embedPayloads } from './embed.ts';
import { errorPayloads } from './error.ts';
import { healthPayloads } from './health.ts';
import { jobsPayloads } from './jobs.ts';
import { moderationPayloads } from './moderation.ts';
import { replyPayloads } from './reply.ts';
import { restPayloads } from './rest.ts';
import { socialPayloads } from './social.ts';
import { transcriptPayloads } from './transcript.ts';
import { voicePayloads } from './voice.ts';

export const PAYLOAD_SCHEMAS = {
  ...voicePayloads,
  ...healthPayloads,
  ...errorPayloads,
  ...transcriptPayloads,
  ...replyPayloads,
  ...socialPayloads,
  ...restPayloads,
  ...jobsPayloads,
  ...embedPayloads,
  ...moderationPayloads,
} as const;

export type KnownIntent = keyof typeof PAYLOAD_SCHEMAS;
export type PayloadOf<I extends KnownIntent> = z.infer<(typeof PAYLOAD_SCHEMAS)[I]>;
export type PayloadInput<I extends KnownIntent> = z.input<(typeof PAYLOAD_SCHEMAS)[I]>;

export * from './common.ts';
export * from './voice.ts';
export * from './health.ts';
export * from './error.ts';
export * from './transcript.ts';
export * from './reply.ts';
export * from './social.ts';
export * from './rest.ts';
export * from './jobs.ts';
export * from './embed.ts';
export * from './moderation.ts';
export { compileFastParse, UNSURE, type FastParse } from './fast.ts';
