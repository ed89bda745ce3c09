/**
 * Messages into store rows. Live messages arrive provider-agnostic (`SocialMessageCreated`, URNs);
 * history pages and the raw edit/delete events carry the provider's own message objects, so those are
 * read here with a schema of just the fields the index keeps (Discord's message object: id,
 * channel_id, guild_id, author.id, content, timestamp, edited_timestamp). Unknown fields pass through.
 */
import { z } from 'zod';
import { PrometheanError, parseUrn, type PayloadOf } from '@promethean/shared';
import type { IndexMessageInput } from '../../store/index.ts';

const Snowflake = z.string().regex(/^[0-9]{1,20}$/, 'must be a snowflake');
const Iso = z.iso.datetime({ offset: true });

/** A message object of a history page (`GET /channels/{id}/messages`) or a MESSAGE_CREATE/UPDATE. */
export const ProviderMessage = z.looseObject({
  id: Snowflake,
  channel_id: Snowflake,
  guild_id: Snowflake.optional(),
  author: z.looseObject({ id: Snowflake }),
  content: z.string().max(100_000).default(''),
  timestamp: Iso,
  edited_timestamp: Iso.nullish(),
  /** Set on a thread's messages by the access agent when the channel is a thread (ours, optional). */
  thread_id: Snowflake.optional(),
});
export type ProviderMessage = z.infer<typeof ProviderMessage>;

/** MESSAGE_UPDATE: Discord sends partial objects (embeds resolved later carry no content). */
export const MessageUpdateEvent = z.looseObject({
  id: Snowflake,
  channel_id: Snowflake,
  guild_id: Snowflake.optional(),
  content: z.string().max(100_000).optional(),
  edited_timestamp: Iso.nullish(),
  author: z.looseObject({ id: Snowflake }).optional(),
  timestamp: Iso.optional(),
});
export const MessageDeleteEvent = z.looseObject({ id: Snowflake, channel_id: Snowflake, guild_id: Snowflake.optional() });
export const MessageDeleteBulkEvent = z.looseObject({ ids: z.array(Snowflake).min(1).max(10_000), channel_id: Snowflake, guild_id: Snowflake.optional() });

/** Where a message without a guild (a DM) is filed: Discord's own name for "no guild" in routes. */
export const NO_GUILD = '@me';

/** Parses `value` with `schema` or throws a `schema` PrometheanError naming the field. */
export function parsePayload<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = ['payload', ...(issue?.path ?? []).map(String)].join('.');
  throw new PrometheanError('schema', `${what} ${path}: ${issue?.message ?? 'invalid'}`, { path });
}

export function fromProviderMessage(provider: string, tenant: string, m: ProviderMessage): IndexMessageInput {
  return {
    provider,
    tenant,
    foreign_id: m.id,
    space_id: m.guild_id ?? NO_GUILD,
    channel_id: m.channel_id,
    author_id: m.author.id,
    content: m.content,
    created_at: m.timestamp,
    edited_at: m.edited_timestamp ?? null,
    thread_id: m.thread_id ?? null,
    raw: m,
  };
}

/** The id part of a URN; refuses a URN of another provider or tenant than the envelope's. */
function urnId(urn: string, provider: string, tenant: string, field: string): string {
  const u = parseUrn(urn);
  if (u.provider !== provider || u.tenant !== tenant) {
    throw new PrometheanError('schema', `payload.${field}: URN of ${u.provider}/${u.tenant} in an envelope of ${provider}/${tenant}`, { path: `payload.${field}` });
  }
  return u.id;
}

const GuildOf = z.looseObject({ guild_id: Snowflake.optional() });

export function fromSocialMessage(p: PayloadOf<'events.SocialMessageCreated'>): IndexMessageInput {
  const guild = GuildOf.safeParse(p.provider_payload);
  return {
    provider: p.provider,
    tenant: p.tenant,
    foreign_id: urnId(p.message_id, p.provider, p.tenant, 'message_id'),
    space_id: (guild.success ? guild.data.guild_id : undefined) ?? NO_GUILD,
    channel_id: urnId(p.space_urn, p.provider, p.tenant, 'space_urn'),
    author_id: urnId(p.author_urn, p.provider, p.tenant, 'author_urn'),
    content: p.text ?? '',
    created_at: p.created_at,
    thread_id: p.thread_id === undefined ? null : urnId(p.thread_id, p.provider, p.tenant, 'thread_id'),
    raw: p.provider_payload ?? {},
  };
}
