/**
 * `standin.text`: the programmatic face of the stand-in's text world for tests and benches (seed
 * history, post, edit, delete, threads, forum posts, live authors), and the rules Discord applies to
 * message creation: `nonce` + `enforce_nonce` (the same nonce from the same author within a few
 * minutes returns the first message), `allowed_mentions`, `message_reference` replies, attachments.
 */
import type { World } from '../world.ts';
import { AttachmentCdn } from './attachments.ts';
import { RateLimiter } from './limits.ts';
import { channelPayload, exemptFromContentGate, messagePayload } from './payloads.ts';
import { ChannelType, TextApiError, TextStore } from './store.ts';
import type { TextChannel, TextMessage } from './store.ts';

export interface StandinTextOptions {
  /** How long a signed attachment URL stays valid, ms (Discord: 24 h). */
  attachmentTtlMs: number;
  /** How long a nonce is remembered for `enforce_nonce`, ms (Discord: "a few minutes"). */
  nonceWindowMs: number;
  /** Whether the application has the privileged Message Content intent enabled (Developer Portal). */
  messageContentIntent: boolean;
  /** The rate limiter's clock, ms (tests freeze it to make windows deterministic). */
  clock: () => number;
}

export const defaultStandinTextOptions: StandinTextOptions = {
  attachmentTtlMs: 24 * 3600 * 1000,
  nonceWindowMs: 5 * 60 * 1000,
  messageContentIntent: true,
  clock: Date.now,
};

export interface AllowedMentions {
  parse?: ('users' | 'roles' | 'everyone')[];
  users?: string[];
  roles?: string[];
  replied_user?: boolean;
}

export interface PostInput {
  content?: string;
  /** Author user id; default: the first simulated author ("standin-author"). */
  authorId?: string;
  attachments?: { filename: string; bytes: Uint8Array; contentType?: string }[];
  nonce?: string | number;
  enforceNonce?: boolean;
  allowedMentions?: AllowedMentions;
  reference?: { message_id: string; channel_id?: string; fail_if_not_exists?: boolean };
}

/** Most nonces remembered (oldest forgotten first). */
const MAX_NONCES = 10_000;

const LINES = [
  'has anyone tried the new build?',
  'the meeting moved to 3pm',
  'I pushed a fix for the login bug',
  'lunch anyone?',
  'reading the design doc now',
  'the benchmark numbers look good',
  'who owns the backfill job?',
  'thanks, that worked',
];

export class StandinText {
  readonly store: TextStore;
  readonly cdn: AttachmentCdn;
  readonly limits: RateLimiter;
  readonly options: StandinTextOptions;
  readonly counters = { posted: 0, nonceHits: 0, edits: 0, deletes: 0 };
  readonly #world: World;
  readonly #nonces = new Map<string, { channelId: string; messageId: string; at: number }>();
  readonly #timers = new Set<ReturnType<typeof setInterval>>();
  #defaultAuthor: string | undefined;

  constructor(world: World, cdnBase: () => string, options: Partial<StandinTextOptions> = {}) {
    this.options = { ...defaultStandinTextOptions, ...options };
    this.#world = world;
    this.limits = new RateLimiter({ now: this.options.clock });
    this.store = new TextStore(world.guildId);
    this.cdn = new AttachmentCdn(cdnBase, { ttlMs: this.options.attachmentTtlMs });
    this.store.addChannel({ id: world.textChannelId, type: ChannelType.GuildText, name: 'general' });
    // The world lists the guild's channels; it already lists `general` itself.
    world.channelSources.push(() => this.store.topLevel().filter((c) => c.id !== world.textChannelId).map((c, i) => channelPayload(world.guildId, c, 10 + i)));
    world.threadSources.push(() => this.store.threads().map((c) => channelPayload(world.guildId, c, 0)));
  }

  get generalChannelId(): string {
    return this.#world.textChannelId;
  }

  /** A simulated (non-bot) author, created on first use. */
  author(name = 'standin-author'): string {
    for (const u of this.#world.users.values()) if (!u.bot && u.username === name) return u.id;
    return this.#world.addSpeaker(name).id;
  }

  createTextChannel(name: string): TextChannel {
    return this.store.addChannel({ type: ChannelType.GuildText, name });
  }

  createForum(name: string): TextChannel {
    return this.store.addChannel({ type: ChannelType.GuildForum, name });
  }

  /** A public thread under a text channel (optionally started from one of its messages: same id). */
  createThread(parentId: string, name: string, options: { fromMessageId?: string; ownerId?: string } = {}): TextChannel {
    const parent = this.store.channel(parentId);
    if (parent.type !== ChannelType.GuildText) throw new TextApiError(400, 50024, 'Cannot execute action on this channel type');
    if (options.fromMessageId) this.store.message(parentId, options.fromMessageId);
    return this.store.addChannel({ ...(options.fromMessageId ? { id: options.fromMessageId } : {}), type: ChannelType.PublicThread, name, parentId, ownerId: options.ownerId ?? this.author() });
  }

  /** A forum post: a thread in a forum whose first message has the thread's id, as on Discord. */
  createForumPost(forumId: string, name: string, content: string, authorId = this.author()): { thread: TextChannel; message: TextMessage } {
    const forum = this.store.channel(forumId);
    if (forum.type !== ChannelType.GuildForum) throw new TextApiError(400, 50024, 'Cannot execute action on this channel type');
    const thread = this.store.addChannel({ type: ChannelType.PublicThread, name, parentId: forumId, ownerId: authorId });
    const message = this.post(thread.id, { content, authorId }, thread.id);
    return { thread, message };
  }

  /** Seeds `count` messages of history older than everything in the channel (cheap: 100,000 in well under a second). */
  seedHistory(channelId: string, count: number, options: { authors?: string[]; spacingMs?: number; content?: (i: number) => string } = {}): { oldestId: string; newestId: string } | undefined {
    const authors = (options.authors ?? ['alice', 'bob', 'carol']).map((name) => this.author(name));
    return this.store.seedHistory(channelId, count, authors, options);
  }

  /** Creates a message as Discord does for POST /channels/{id}/messages (nonce, mentions, reply). */
  post(channelId: string, input: PostInput, forcedId?: string): TextMessage {
    const channel = this.store.messageChannel(channelId);
    const authorId = input.authorId ?? (this.#defaultAuthor ??= this.author());
    const content = input.content ?? '';
    if (content.length > 2000) throw new TextApiError(400, 50035, 'Invalid Form Body', { content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 2000 or fewer in length.' }] } });
    if (content.length === 0 && !(input.attachments?.length)) throw new TextApiError(400, 50006, 'Cannot send an empty message');
    if (input.nonce !== undefined && String(input.nonce).length > 25) throw new TextApiError(400, 50035, 'Invalid Form Body', { nonce: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 25 or fewer in length.' }] } });
    const nonceKey = input.nonce !== undefined ? `${authorId}:${String(input.nonce)}` : undefined;
    if (nonceKey && input.enforceNonce) {
      const seen = this.#nonces.get(nonceKey);
      if (seen && Date.now() - seen.at <= this.options.nonceWindowMs) {
        try {
          const first = this.store.message(seen.channelId, seen.messageId);
          this.counters.nonceHits++;
          return first;
        } catch {
          // The first message was deleted: Discord creates a new one.
        }
      }
    }
    let reference: TextMessage['reference'];
    let referenced: TextMessage | undefined;
    if (input.reference) {
      const refChannel = input.reference.channel_id ?? channelId;
      try {
        referenced = this.store.message(refChannel, input.reference.message_id);
        reference = { message_id: referenced.id, channel_id: refChannel, guild_id: this.#world.guildId };
      } catch (error) {
        if (input.reference.fail_if_not_exists !== false) {
          throw new TextApiError(400, 50035, 'Invalid Form Body', { message_reference: { _errors: [{ code: 'REPLIES_UNKNOWN_MESSAGE', message: 'Unknown message' }] } });
        }
        void error;
      }
    }
    const { mentions, everyone } = this.#mentions(content, input.allowedMentions, referenced);
    const attachments = (input.attachments ?? []).map((a) => {
      const id = this.store.newId();
      const bytes = Buffer.from(a.bytes);
      const stored = { id, filename: a.filename, contentType: a.contentType ?? 'application/octet-stream', size: bytes.length };
      this.cdn.add({ ...stored, channelId: channel.id, bytes });
      return stored;
    });
    const message = this.store.append(channel.id, {
      ...(forcedId ? { id: forcedId } : {}),
      authorId,
      content,
      type: reference ? 19 : 0,
      attachments,
      mentions,
      mentionEveryone: everyone,
      reference,
      nonce: input.nonce,
    });
    this.counters.posted++;
    if (nonceKey) {
      this.#nonces.set(nonceKey, { channelId: channel.id, messageId: message.id, at: Date.now() });
      if (this.#nonces.size > MAX_NONCES) this.#nonces.delete(this.#nonces.keys().next().value as string);
    }
    return message;
  }

  edit(channelId: string, messageId: string, content: string): TextMessage {
    this.counters.edits++;
    return this.store.edit(channelId, messageId, content);
  }

  delete(channelId: string, messageId: string): TextMessage {
    this.counters.deletes++;
    return this.store.delete(channelId, messageId);
  }

  bulkDelete(channelId: string, ids: string[]): string[] {
    this.counters.deletes += ids.length;
    return this.store.bulkDelete(channelId, ids);
  }

  /** A channel or thread as Discord's JSON shows it. */
  channelPayload(c: TextChannel): Record<string, unknown> {
    return channelPayload(this.#world.guildId, c, 10);
  }

  /** A message as `viewerId` sees it (content gated by MESSAGE_CONTENT unless exempt). */
  view(m: TextMessage, viewerId: string, options: { contentIntent: boolean; gateway: boolean }): Record<string, unknown> {
    const content = (options.contentIntent && this.options.messageContentIntent) || exemptFromContentGate(m, viewerId);
    let referenced: TextMessage | undefined;
    if (m.reference) {
      try {
        referenced = this.store.message(m.reference.channel_id, m.reference.message_id);
      } catch {
        referenced = undefined;
      }
    }
    return messagePayload(this.#world, this.cdn, this.#world.guildId, m, { content, gateway: options.gateway }, referenced);
  }

  /**
   * Simulated authors posting live into a channel every `intervalMs` (round robin over `names`).
   * Returns a function that stops them.
   */
  startAuthors(options: { channelId?: string; names?: string[]; intervalMs?: number } = {}): () => void {
    const channelId = options.channelId ?? this.generalChannelId;
    const ids = (options.names ?? ['alice', 'bob', 'carol']).map((n) => this.author(n));
    let i = 0;
    const timer = setInterval(() => {
      try {
        this.post(channelId, { content: LINES[i % LINES.length]!, authorId: ids[i % ids.length]! });
      } catch {
        // The channel went away: nothing to post into.
      }
      i++;
    }, options.intervalMs ?? 5000);
    timer.unref();
    this.#timers.add(timer);
    return () => {
      clearInterval(timer);
      this.#timers.delete(timer);
    };
  }

  close(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#timers.clear();
  }

  #mentions(content: string, allowed: AllowedMentions | undefined, referenced: TextMessage | undefined): { mentions: string[]; everyone: boolean } {
    const named = [...content.matchAll(/<@!?(\d{1,20})>/g)].map((m) => m[1]!).filter((id) => this.#world.users.has(id));
    const parse = allowed ? (allowed.parse ?? []) : ['users', 'roles', 'everyone'];
    const users = new Set(named.filter((id) => parse.includes('users') || (allowed?.users ?? []).includes(id)));
    if (referenced && (allowed ? allowed.replied_user === true : true)) users.add(referenced.authorId);
    const everyone = parse.includes('everyone') && /@(everyone|here)\b/.test(content);
    return { mentions: [...users], everyone };
  }
}
