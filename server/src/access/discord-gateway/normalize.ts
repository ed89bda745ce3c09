/**
 * A Discord MESSAGE_CREATE into the provider-agnostic `SocialMessageCreated`: URNs for message,
 * author, space (the channel the message is in: a thread's own id for thread and forum-post
 * messages, so replies and history paging address the same place) and thread, the attachments, and
 * the raw event as `provider_payload`.
 */
import { formatUrn } from '@promethean/shared';
import type { SocialMessageCreated } from '@promethean/shared';

export interface RawMessage {
  id: string;
  channel_id: string;
  guild_id?: string;
  author: { id: string };
  content?: string;
  timestamp: string;
  attachments?: { id: string; url: string; content_type?: string; size?: number }[];
  [k: string]: unknown;
}

export function isRawMessage(d: unknown): d is RawMessage {
  const m = d as RawMessage | null;
  return typeof m === 'object' && m !== null && typeof m.id === 'string' && typeof m.channel_id === 'string' && typeof m.author?.id === 'string' && typeof m.timestamp === 'string';
}

export function toSocialMessage(provider: string, tenant: string, m: RawMessage, inThread: boolean): SocialMessageCreated {
  const urn = (kind: string, id: string) => formatUrn({ provider, kind, tenant, id });
  return {
    message_id: urn('message', m.id),
    ...(inThread ? { thread_id: urn('thread', m.channel_id) } : {}),
    author_urn: urn('user', m.author.id),
    space_urn: urn('channel', m.channel_id),
    ...(m.content ? { text: m.content.slice(0, 20_000) } : {}),
    attachments: (m.attachments ?? []).slice(0, 50).map((a) => ({
      urn: urn('attachment', a.id),
      url: a.url,
      ...(a.content_type ? { content_type: a.content_type } : {}),
      ...(typeof a.size === 'number' ? { size: a.size } : {}),
    })),
    created_at: m.timestamp,
    provider,
    tenant,
    provider_payload: m,
  };
}
