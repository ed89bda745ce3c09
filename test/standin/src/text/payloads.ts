/** Discord JSON shapes of the stand-in's text objects (message, channel, thread). */
import type { World } from '../world.ts';
import type { AttachmentCdn } from './attachments.ts';
import { ChannelType } from './store.ts';
import type { TextChannel, TextMessage } from './store.ts';

export interface MessageView {
  /** Show content, attachments and embeds (MESSAGE_CONTENT granted, or the viewer is author or pinged). */
  content: boolean;
  /** Gateway payloads carry guild_id and the author's member. */
  gateway: boolean;
}

/** Whether `viewerId` sees a message's content without the MESSAGE_CONTENT intent (Discord's exemptions). */
export function exemptFromContentGate(m: TextMessage, viewerId: string): boolean {
  return m.authorId === viewerId || m.mentions.includes(viewerId);
}

export function messagePayload(world: World, cdn: AttachmentCdn, guildId: string, m: TextMessage, view: MessageView, referenced?: TextMessage): Record<string, unknown> {
  const author = world.users.get(m.authorId);
  const payload: Record<string, unknown> = {
    id: m.id,
    channel_id: m.channelId,
    type: m.type,
    author: author ? world.userPayload(author) : { id: m.authorId, username: 'deleted-user', discriminator: '0', global_name: null, avatar: null },
    content: view.content ? m.content : '',
    timestamp: new Date(m.createdMs).toISOString(),
    edited_timestamp: m.editedTimestamp,
    tts: false,
    mention_everyone: m.mentionEveryone,
    mentions: m.mentions.map((id) => world.users.get(id)).filter((u) => u !== undefined).map((u) => world.userPayload(u)),
    mention_roles: [],
    mention_channels: [],
    attachments: view.content
      ? m.attachments.map((a) => {
          const url = cdn.url({ channelId: m.channelId, id: a.id, filename: a.filename });
          return { id: a.id, filename: a.filename, size: a.size, url, proxy_url: url, content_type: a.contentType };
        })
      : [],
    embeds: [],
    components: [],
    reactions: undefined,
    pinned: false,
    flags: 0,
  };
  if (m.nonce !== undefined) payload.nonce = m.nonce;
  if (m.reference) {
    payload.message_reference = { type: 0, ...m.reference };
    if (m.type === 19) payload.referenced_message = referenced ? messagePayload(world, cdn, guildId, referenced, view) : null;
  }
  if (view.gateway) {
    payload.guild_id = guildId;
    if (author) {
      const { user: _u, ...member } = world.memberPayload(author);
      payload.member = member;
    }
  }
  return payload;
}

export function channelPayload(guildId: string, c: TextChannel, position: number): Record<string, unknown> {
  const last = c.messages.at(-1);
  const base = { id: c.id, guild_id: guildId, name: c.name, type: c.type, last_message_id: last?.id ?? null, rate_limit_per_user: 0, nsfw: false, flags: 0 };
  if (c.type === ChannelType.PublicThread) {
    return {
      ...base,
      parent_id: c.parentId,
      owner_id: c.ownerId,
      message_count: c.messages.length,
      member_count: 1,
      total_message_sent: c.messages.length,
      thread_metadata: { archived: false, auto_archive_duration: 1440, archive_timestamp: new Date(0).toISOString(), locked: false, create_timestamp: new Date(0).toISOString() },
      applied_tags: [],
    };
  }
  const payload: Record<string, unknown> = { ...base, position, parent_id: null, permission_overwrites: [], topic: null };
  if (c.type === ChannelType.GuildForum) Object.assign(payload, { available_tags: [], default_reaction_emoji: null, default_sort_order: null, default_forum_layout: 0, default_thread_rate_limit_per_user: 0 });
  return payload;
}
