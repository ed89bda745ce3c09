/**
 * Provider-agnostic social messages (seeds: `SocialMessageCreated`, `PostMessage`). Access agents
 * translate provider events to these; workers never see provider payload shapes except through
 * `provider_payload`. `provider` / `tenant` repeat the envelope's (seed shape) and must equal them.
 */
import { z } from 'zod';
import { ID_TOKEN_RE } from '../topics.ts';
import { Urn } from './common.ts';

const Token = z.string().regex(ID_TOKEN_RE, 'must be a [a-z0-9_-] token');
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex sha256');

export const SocialAttachment = z.object({
  urn: Urn,
  url: z.url(),
  content_type: z.string().max(255).optional(),
  size: z.number().int().nonnegative().optional(),
  sha256: Sha256.optional(),
});

/** `events.SocialMessageCreated`: a message-like thing appeared in a space (channel, sub, forum). */
export const SocialMessageCreated = z.object({
  /** Our id for the message: its URN. Indexers dedupe on (provider, tenant, message_id). */
  message_id: Urn,
  thread_id: Urn.optional(),
  author_urn: Urn,
  space_urn: Urn,
  text: z.string().max(20000).optional(),
  attachments: z.array(SocialAttachment).max(50).default([]),
  created_at: z.iso.datetime({ offset: true }),
  provider: Token,
  tenant: Token,
  /** The raw provider event, for features the normalized shape does not carry. */
  provider_payload: z.unknown().optional(),
});
export type SocialMessageCreated = z.infer<typeof SocialMessageCreated>;

export const PostAttachment = z
  .object({
    data_path: z.string().min(1).optional(),
    url: z.url().optional(),
    filename: z.string().min(1).max(255).optional(),
  })
  .refine((v) => (v.data_path === undefined) !== (v.url === undefined), { message: 'exactly one of data_path, url' });

/** `social.command.post`: post a message (or a reply) in a space; the access agent maps it to REST. */
export const PostMessage = z
  .object({
    provider: Token,
    tenant: Token,
    space_urn: Urn,
    in_reply_to: Urn.optional(),
    text: z.string().max(4000).default(''),
    attachments: z.array(PostAttachment).max(10).default([]),
    /** Caller's dedupe key: the access agent posts a given nonce at most once. */
    nonce: z.string().min(1).max(64).optional(),
  })
  .refine((v) => v.text.length > 0 || v.attachments.length > 0, { message: 'text or attachments required', path: ['text'] });
export type PostMessage = z.infer<typeof PostMessage>;

export const socialPayloads = {
  'social.command.post': PostMessage,
  'events.SocialMessageCreated': SocialMessageCreated,
} as const;
