/**
 * Payload schemas of every known intent, one file per area. Intents not listed here pass through
 * unvalidated so old and new agents can run side by side.
 */
import type { z } from 'zod';
import { dspPayloads } from './dsp.ts';
import { embedPayloads } from './embed.ts';
import { errorPayloads } from './error.ts';
import { healthPayloads } from './health.ts';
import { jobsPayloads } from './jobs.ts';
import { moderationPayloads } from './moderation.ts';
import { botPayloads } from './bot.ts';
import { replyPayloads } from './reply.ts';
import { restPayloads } from './rest.ts';
import { socialPayloads } from './social.ts';
import { transcriptPayloads } from './transcript.ts';
import { voicePayloads } from './voice.ts';
import { relayPayloads } from './relay.ts';

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
  ...botPayloads,
  ...dspPayloads,
  ...relayPayloads,
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
export * from './dsp.ts';
export * from './bot.ts';
export * from './relay.ts';
export { compileFastParse, UNSURE, type FastParse } from './fast.ts';
