/** The `error` intent: what a process sends back for every rejected frame or failed request. */
import { z } from 'zod';
import { ERROR_CODES } from '../errors.ts';

export const ErrorPayload = z.object({
  code: z.enum(ERROR_CODES),
  message: z.string().max(2000),
  /** Dotted path of the offending field, when known. */
  path: z.string().max(256).optional(),
  /** Id of the rejected envelope, when it could be read. */
  ref_id: z.string().max(128).optional(),
  /** Topic the rejected frame was published to, when it could be read. */
  topic: z.string().max(255).optional(),
  /** Whether retrying the same request may succeed. */
  retryable: z.boolean().default(false),
});

export const errorPayloads = { error: ErrorPayload } as const;
