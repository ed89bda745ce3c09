/**
 * The stand-in's text world: guild text channels, threads (forum posts included) and their message
 * history, kept per channel as an array sorted by snowflake so that paging is a binary search and
 * seeding 100,000 messages costs one array build. Changes are announced as events, which the gateway
 * turns into MESSAGE_CREATE / UPDATE / DELETE / DELETE_BULK and THREAD_CREATE.
 */
import { EventEmitter } from 'node:events';
import { PrometheanError } from '@promethean/shared';

export const DISCORD_EPOCH_MS = 1_420_070_400_000n;

/** Discord channel types the stand-in serves. */
export const ChannelType = { GuildText: 0, GuildVoice: 2, PublicThread: 11, GuildForum: 15 } as const;

export interface StoredAttachment {
  id: string;
  filename: string;
  contentType: string;
  size: number;
}

export interface TextMessage {
  id: string;
  /** `id` as a bigint, for ordering. */
  n: bigint;
  channelId: string;
  authorId: string;
  content: string;
  /** Creation time, ms since 1970 (ISO string made only when a payload is built). */
  createdMs: number;
  editedTimestamp: string | null;
  /** 0 default, 19 reply. */
  type: number;
  attachments: StoredAttachment[];
  /** Users actually pinged (after `allowed_mentions`). */
  mentions: string[];
  mentionEveryone: boolean;
  reference: { message_id: string; channel_id: string; guild_id: string } | undefined;
  nonce: string | number | undefined;
}

export interface TextChannel {
  id: string;
  type: number;
  name: string;
  /** Parent channel of a thread (a text or forum channel); null for top-level channels. */
  parentId: string | null;
  ownerId: string | null;
  /** Messages, oldest first. */
  messages: TextMessage[];
}

export interface TextStoreEvents {
  messageCreate: [message: TextMessage];
  messageUpdate: [message: TextMessage];
  messageDelete: [message: TextMessage];
  messageDeleteBulk: [channelId: string, ids: string[]];
  threadCreate: [channel: TextChannel];
  channelCreate: [channel: TextChannel];
}

/** A stand-in text error that maps to Discord's JSON error body. */
export class TextApiError extends PrometheanError {
  override name = 'TextApiError';
  /** HTTP status. */
  readonly status: number;
  /** Discord's JSON error code (10003 Unknown Channel, 50035 Invalid Form Body, …). */
  readonly discordCode: number;
  /** Discord's `errors` object (per-field issues), when there is one. */
  readonly errors: unknown;

  constructor(status: number, discordCode: number, message: string, errors?: unknown) {
    super(status === 404 ? 'not_found' : 'schema', message);
    this.status = status;
    this.discordCode = discordCode;
    this.errors = errors;
  }
}

export const unknownChannel = () => new TextApiError(404, 10003, 'Unknown Channel');
export const unknownMessage = () => new TextApiError(404, 10008, 'Unknown Message');

/** Binary search: index of the first message with `n > id` (messages sorted ascending). */
export function upperBound(messages: readonly TextMessage[], id: bigint): number {
  let lo = 0;
  let hi = messages.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (messages[mid]!.n <= id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first message with `n >= id`. */
export function lowerBound(messages: readonly TextMessage[], id: bigint): number {
  let lo = 0;
  let hi = messages.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (messages[mid]!.n < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function snowflakeAt(ms: number, increment: bigint): bigint {
  return ((BigInt(Math.floor(ms)) - DISCORD_EPOCH_MS) << 22n) | (1n << 17n) | (increment & 0xfffn);
}

export function snowflakeTime(id: bigint): number {
  return Number((id >> 22n) + DISCORD_EPOCH_MS);
}

export class TextStore extends EventEmitter<TextStoreEvents> {
  readonly channels = new Map<string, TextChannel>();
  readonly guildId: string;
  #increment = 0n;
  #last = 0n;
  readonly #now: () => number;

  constructor(guildId: string, now: () => number = Date.now) {
    super();
    this.guildId = guildId;
    this.#now = now;
  }

  /** A new snowflake for now, strictly greater than every one handed out before. */
  newId(): string {
    this.#increment++;
    let id = snowflakeAt(this.#now(), this.#increment);
    if (id <= this.#last) id = this.#last + 1n;
    this.#last = id;
    return id.toString();
  }

  addChannel(spec: { id?: string; type: number; name: string; parentId?: string | null; ownerId?: string | null }): TextChannel {
    const channel: TextChannel = { id: spec.id ?? this.newId(), type: spec.type, name: spec.name, parentId: spec.parentId ?? null, ownerId: spec.ownerId ?? null, messages: [] };
    this.channels.set(channel.id, channel);
    if (channel.type === ChannelType.PublicThread) this.emit('threadCreate', channel);
    else this.emit('channelCreate', channel);
    return channel;
  }

  channel(id: string): TextChannel {
    const c = this.channels.get(id);
    if (!c) throw unknownChannel();
    return c;
  }

  /** A channel that holds messages (text channels and threads; not forums, not voice). */
  messageChannel(id: string): TextChannel {
    const c = this.channel(id);
    if (c.type === ChannelType.GuildForum) throw new TextApiError(400, 50024, 'Cannot execute action on this channel type');
    return c;
  }

  topLevel(): TextChannel[] {
    return [...this.channels.values()].filter((c) => c.type !== ChannelType.PublicThread);
  }

  threads(): TextChannel[] {
    return [...this.channels.values()].filter((c) => c.type === ChannelType.PublicThread);
  }

  message(channelId: string, messageId: string): TextMessage {
    const channel = this.messageChannel(channelId);
    if (!/^\d{1,20}$/.test(messageId)) throw unknownMessage();
    const n = BigInt(messageId);
    const i = lowerBound(channel.messages, n);
    const m = channel.messages[i];
    if (!m || m.n !== n) throw unknownMessage();
    return m;
  }

  /** Appends a live message (id = now) and announces it. */
  append(channelId: string, fields: Omit<TextMessage, 'id' | 'n' | 'channelId' | 'createdMs' | 'editedTimestamp'> & { id?: string }): TextMessage {
    const channel = this.messageChannel(channelId);
    const id = fields.id ?? this.newId();
    const n = BigInt(id);
    const message: TextMessage = { ...fields, id, n, channelId, createdMs: snowflakeTime(n), editedTimestamp: null };
    const last = channel.messages.at(-1);
    if (!last || last.n < n) channel.messages.push(message);
    else channel.messages.splice(lowerBound(channel.messages, n), 0, message);
    this.emit('messageCreate', message);
    return message;
  }

  /**
   * Adds `count` messages older than everything in the channel, one every `spacingMs`, without
   * events (history that existed before anyone connected). Authors cycle through `authorIds`.
   */
  seedHistory(channelId: string, count: number, authorIds: readonly string[], options: { spacingMs?: number; content?: (i: number) => string } = {}): { oldestId: string; newestId: string } | undefined {
    if (!Number.isInteger(count) || count < 0 || count > 10_000_000) throw new TextApiError(400, 0, 'count must be an integer 0..10,000,000');
    if (authorIds.length === 0) throw new TextApiError(400, 0, 'seedHistory needs at least one author');
    const channel = this.messageChannel(channelId);
    if (count === 0) return undefined;
    const spacing = options.spacingMs ?? 1000;
    const oldest = channel.messages[0];
    const endMs = oldest ? snowflakeTime(oldest.n) - spacing : this.#now() - spacing;
    const name = channel.name;
    const content = options.content ?? ((i: number) => `history message ${i + 1} of ${count} in #${name}`);
    const seeded: TextMessage[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const ms = endMs - (count - 1 - i) * spacing;
      const n = snowflakeAt(ms, BigInt(i));
      seeded[i] = {
        id: n.toString(),
        n,
        channelId,
        authorId: authorIds[i % authorIds.length]!,
        content: content(i),
        createdMs: ms,
        editedTimestamp: null,
        type: 0,
        attachments: [],
        mentions: [],
        mentionEveryone: false,
        reference: undefined,
        nonce: undefined,
      };
    }
    channel.messages = seeded.concat(channel.messages);
    return { oldestId: seeded[0]!.id, newestId: seeded[count - 1]!.id };
  }

  edit(channelId: string, messageId: string, content: string): TextMessage {
    const m = this.message(channelId, messageId);
    m.content = content;
    m.editedTimestamp = new Date(this.#now()).toISOString();
    this.emit('messageUpdate', m);
    return m;
  }

  delete(channelId: string, messageId: string): TextMessage {
    const m = this.message(channelId, messageId);
    const channel = this.channel(channelId);
    channel.messages.splice(lowerBound(channel.messages, m.n), 1);
    this.emit('messageDelete', m);
    return m;
  }

  bulkDelete(channelId: string, ids: readonly string[]): string[] {
    const channel = this.messageChannel(channelId);
    const want = new Set(ids);
    const deleted = channel.messages.filter((m) => want.has(m.id)).map((m) => m.id);
    channel.messages = channel.messages.filter((m) => !want.has(m.id));
    if (deleted.length > 0) this.emit('messageDeleteBulk', channelId, deleted);
    return deleted;
  }

  /**
   * One page as Discord pages: `before` → the `limit` newest older than it; `after` → the `limit`
   * oldest newer than it; `around` → up to `limit` centred on it; none → the newest. Newest first.
   */
  page(channelId: string, q: { before?: bigint; after?: bigint; around?: bigint; limit: number }): TextMessage[] {
    const all = this.messageChannel(channelId).messages;
    let from: number;
    let to: number;
    if (q.around !== undefined) {
      const at = lowerBound(all, q.around);
      const half = Math.floor(q.limit / 2);
      from = Math.max(0, at - half);
      to = Math.min(all.length, from + q.limit);
    } else if (q.after !== undefined) {
      from = upperBound(all, q.after);
      to = Math.min(all.length, from + q.limit);
      if (q.before !== undefined) to = Math.min(to, lowerBound(all, q.before));
    } else {
      to = q.before !== undefined ? lowerBound(all, q.before) : all.length;
      from = Math.max(0, to - q.limit);
    }
    return all.slice(from, Math.max(from, to)).reverse();
  }
}
