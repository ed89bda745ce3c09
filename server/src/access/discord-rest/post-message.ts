/**
 * `social.command.post` (PostMessage) → `POST /channels/{id}/messages`: `allowed_mentions` defaults to
 * none (a reply never pings anyone unless asked), a reply becomes a `message_reference`, and every
 * post carries Discord's `nonce` with `enforce_nonce`, derived from the caller's nonce (or the
 * envelope's corr/id), so a retried post creates one message.
 */
import { createHash } from 'node:crypto';
import { PrometheanError, parseUrn } from '@promethean/shared';
import type { PostMessage, RestRequest } from '@promethean/shared';

/** Discord nonces are at most 25 characters. */
export function discordNonce(key: string): string {
  return key.length <= 25 && /^[A-Za-z0-9_-]+$/.test(key) ? key : createHash('sha256').update(key).digest('base64url').slice(0, 25);
}

function idOf(urn: string, kinds: readonly string[], provider: string, tenant: string, field: string): string {
  const u = parseUrn(urn);
  if (u.provider !== provider || u.tenant !== tenant) throw new PrometheanError('forbidden', `${field} ${urn} is not a ${provider}/${tenant} URN`, { path: field });
  if (!kinds.includes(u.kind) || !/^\d{1,20}$/.test(u.id)) throw new PrometheanError('schema', `${field} must be a ${kinds.join(' or ')} URN with a snowflake id`, { path: field });
  return u.id;
}

export function postMessageRequest(post: PostMessage, fallbackKey: string, provider: string, tenant: string): RestRequest {
  if (post.attachments.length > 0) throw new PrometheanError('unsupported', 'PostMessage attachments are not sent by discord-rest yet; post text only', { path: 'attachments' });
  const channelId = idOf(post.space_urn, ['channel', 'thread'], provider, tenant, 'space_urn');
  const key = post.nonce ?? fallbackKey;
  const body: Record<string, unknown> = { content: post.text, allowed_mentions: { parse: [] }, nonce: discordNonce(key), enforce_nonce: true };
  if (post.in_reply_to) body.message_reference = { message_id: idOf(post.in_reply_to, ['message'], provider, tenant, 'in_reply_to'), channel_id: channelId, fail_if_not_exists: false };
  return { method: 'POST', url: `/channels/${channelId}/messages`, body, idempotency_key: `post:${key}`.slice(0, 128), timeout_ms: 15_000 };
}

/** A message create sent as a raw `rest.request` also gets a nonce (from its idempotency key) unless it has one. */
export function withNonce(req: RestRequest, key: string): RestRequest {
  if (req.method !== 'POST' || !/^\/channels\/\d{1,20}\/messages(\?|$)/.test(req.url)) return req;
  const body = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body) || 'nonce' in body) return req;
  return { ...req, body: { ...body, nonce: discordNonce(key), enforce_nonce: true } };
}
