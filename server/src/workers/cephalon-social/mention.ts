/**
 * Is a message addressed to the bot? A `SocialMessageCreated` says so in its provider payload's
 * `mentions` (the users the message pinged, Discord's shape), in the text (`<@id>`, `<@!id>`), or by
 * one of the tenant's configured plain names ("promethean, what is…"). Pure functions over the
 * normalized message; provider payload fields are read defensively (they are the raw event).
 */
import { parseUrn } from '@promethean/shared';
import type { SocialMessageCreated } from '@promethean/shared';

export interface PayloadUser {
  id: string;
  name: string;
  bot: boolean;
}

/** What the brain reads of one message. */
export interface MessageView {
  provider: string;
  tenant: string;
  messageId: string;
  channelId: string;
  /** The thread's parent channel, when the provider payload says. */
  parentId: string | null;
  guildId: string | null;
  author: PayloadUser;
  mentions: PayloadUser[];
  text: string;
  createdAt: string;
}

const obj = (v: unknown): Record<string, unknown> | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/** A Discord-shaped user (`{ id, username, global_name, bot }`, a member's `nick` first) as a name. */
export function payloadUser(raw: unknown, member?: unknown, fallbackId = 'unknown'): PayloadUser {
  const u = obj(raw) ?? {};
  const id = str(u.id) ?? fallbackId;
  const name = str(obj(member)?.nick) ?? str(u.global_name) ?? str(u.username) ?? id;
  return { id, name: name.slice(0, 64), bot: u.bot === true };
}

/** The view of a normalized message; ids come from its URNs, names from the provider payload when present. */
export function viewOf(m: SocialMessageCreated): MessageView {
  const raw = obj(m.provider_payload) ?? {};
  const mentions = Array.isArray(raw.mentions) ? raw.mentions.slice(0, 100).map((u) => payloadUser(u)).filter((u) => u.id !== 'unknown') : [];
  const authorId = parseUrn(m.author_urn).id;
  return {
    provider: m.provider,
    tenant: m.tenant,
    messageId: parseUrn(m.message_id).id,
    channelId: parseUrn(m.space_urn).id,
    parentId: str(raw.parent_id) ?? null,
    guildId: str(raw.guild_id) ?? null,
    author: { ...payloadUser(raw.author, raw.member, authorId), id: authorId },
    mentions,
    text: m.text ?? '',
    createdAt: m.created_at,
  };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A whole-word, case-insensitive match of any name, optionally written `@name`. */
export function nameMatcher(names: readonly string[]): RegExp | undefined {
  if (names.length === 0) return undefined;
  return new RegExp(`(?:^|[^\\p{L}\\p{N}_])@?(?:${names.map(escapeRegExp).join('|')})(?=$|[^\\p{L}\\p{N}_])`, 'iu');
}

export type MentionKind = 'ping' | 'text' | 'name';

/** How the message addresses the bot, or undefined when it does not. */
export function mentionOf(view: MessageView, botUserId: string | undefined, names: RegExp | undefined): MentionKind | undefined {
  if (botUserId !== undefined) {
    if (view.mentions.some((u) => u.id === botUserId)) return 'ping';
    if (view.text.includes(`<@${botUserId}>`) || view.text.includes(`<@!${botUserId}>`)) return 'text';
  }
  if (names && names.test(view.text)) return 'name';
  return undefined;
}

/** The text with the bot's own mention removed and other user mentions written as `@name`. */
export function readableText(text: string, mentions: readonly PayloadUser[], botUserId: string | undefined): string {
  const names = new Map(mentions.map((u) => [u.id, u.name]));
  return text
    .replace(/<@!?(\d{1,20})>/g, (whole, id: string) => (id === botUserId ? '' : names.has(id) ? `@${names.get(id)}` : whole))
    .replace(/\s+/g, ' ')
    .trim();
}
