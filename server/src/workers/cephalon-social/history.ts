/**
 * Where the prompt's context comes from. The recent thread: the tenant's REST agent
 * (`GET /channels/{id}/messages?before=<mention>&limit=N` through `rest.request`, no token here), or,
 * when that fails or the provider has no such route, the messages this worker saw live (a bounded
 * ring per channel). Related older messages: a `Recall` (the text layer's embeddings, when the store
 * has them).
 */
import { PrometheanError } from '@promethean/shared';
import type { SemanticSearch } from '../../embed/semantic-search.ts';
import type { MessageKey } from '../../store/store.ts';
import type { BusRestClient } from '../indexer/rest-client.ts';
import { payloadUser, type MessageView } from './mention.ts';
import type { ThreadLine } from './prompt.ts';

/** The recent thread before a message, oldest first. */
export interface ThreadSource {
  recent(view: MessageView, limit: number, botUserId: string | undefined): Promise<ThreadLine[]>;
}

/** Stored messages near a text, nearest first. */
export interface Recall {
  nearest(query: { provider: string; tenant: string; guildId: string; text: string; k: number }): Promise<ThreadLine[]>;
}

export interface SeenMessagesOptions {
  /** Channels remembered; the least recently active is forgotten first. */
  maxChannels: number;
  /** Messages kept per channel. */
  perChannel: number;
}

export const defaultSeenMessagesOptions: SeenMessagesOptions = { maxChannels: 2000, perChannel: 100 };

/** What the worker saw live, per channel: the fallback thread. */
export class SeenMessages implements ThreadSource {
  readonly options: SeenMessagesOptions;
  readonly #channels = new Map<string, { line: ThreadLine; authorId: string }[]>();

  constructor(options: Partial<SeenMessagesOptions> = {}) {
    this.options = { ...defaultSeenMessagesOptions, ...options };
  }

  get channels(): number {
    return this.#channels.size;
  }

  add(view: MessageView): void {
    const key = `${view.provider}/${view.tenant}/${view.channelId}`;
    const lines = this.#channels.get(key) ?? [];
    // Re-inserted so the map's order is least recently active first.
    this.#channels.delete(key);
    this.#channels.set(key, lines);
    lines.push({ line: { id: view.messageId, author: view.author.name, fromBot: false, text: view.text.slice(0, 2000) }, authorId: view.author.id });
    if (lines.length > this.options.perChannel) lines.splice(0, lines.length - this.options.perChannel);
    if (this.#channels.size > this.options.maxChannels) this.#channels.delete(this.#channels.keys().next().value as string);
  }

  async recent(view: MessageView, limit: number, botUserId: string | undefined): Promise<ThreadLine[]> {
    const lines = this.#channels.get(`${view.provider}/${view.tenant}/${view.channelId}`) ?? [];
    const at = lines.findIndex((l) => l.line.id === view.messageId);
    const before = at >= 0 ? lines.slice(0, at) : lines;
    return before.slice(Math.max(0, before.length - limit)).map((l) => ({ ...l.line, fromBot: l.authorId === botUserId }));
  }
}

/** Discord's message objects (newest first, as the history route answers) as thread lines, oldest first. */
export function linesFromDiscordPage(data: unknown, botUserId: string | undefined): ThreadLine[] {
  if (!Array.isArray(data)) throw new PrometheanError('schema', 'the history page is not an array');
  const out: ThreadLine[] = [];
  for (const m of data.slice(0, 100)) {
    const o = m as { id?: unknown; content?: unknown; author?: unknown; member?: unknown };
    if (typeof o !== 'object' || o === null || typeof o.id !== 'string' || typeof o.content !== 'string') continue;
    const author = payloadUser(o.author, o.member);
    out.push({ id: o.id, author: author.name, fromBot: botUserId !== undefined && author.id === botUserId, text: o.content.slice(0, 2000) });
  }
  return out.reverse();
}

export interface RestThreadOptions {
  /** `rest.request` timeout, ms. */
  timeoutMs: number;
  /** Providers whose API has Discord's history route. */
  providers: readonly string[];
}

export const defaultRestThreadOptions: RestThreadOptions = { timeoutMs: 10_000, providers: ['discord'] };

/** The thread from the tenant's REST agent, or `fallback` when it cannot answer (counted). */
export class RestThreadHistory implements ThreadSource {
  readonly options: RestThreadOptions;
  readonly #rest: BusRestClient;
  readonly #fallback: ThreadSource;
  readonly #count: (name: string) => void;

  constructor(rest: BusRestClient, fallback: ThreadSource, count: (name: string) => void, options: Partial<RestThreadOptions> = {}) {
    this.options = { ...defaultRestThreadOptions, ...options };
    this.#rest = rest;
    this.#fallback = fallback;
    this.#count = count;
  }

  async recent(view: MessageView, limit: number, botUserId: string | undefined): Promise<ThreadLine[]> {
    if (limit === 0) return [];
    if (!this.options.providers.includes(view.provider)) return this.#fallback.recent(view, limit, botUserId);
    try {
      const res = await this.#rest.request(view.provider, view.tenant, {
        method: 'GET',
        url: `/channels/${view.channelId}/messages?before=${view.messageId}&limit=${Math.min(100, limit)}`,
        timeout_ms: this.options.timeoutMs,
      });
      if (!res.ok) throw new PrometheanError('unavailable', `history: HTTP ${res.status} ${res.error ?? ''}`.trim());
      this.#count('history.rest');
      return linesFromDiscordPage(res.data, botUserId);
    } catch {
      this.#count('history.rest_failed');
      return this.#fallback.recent(view, limit, botUserId);
    }
  }
}

/** What recall needs of the store (`Store` satisfies it). */
export interface MessageLookup {
  getIndexedMessage(key: MessageKey): Promise<{ author_id: string; content: string; deleted_at: string | null; raw: unknown } | undefined>;
}

/** Recall through the text layer's embeddings: the nearest stored messages of the same guild. */
export class SemanticRecall implements Recall {
  readonly #search: Pick<SemanticSearch, 'search'>;
  readonly #store: MessageLookup;

  constructor(search: Pick<SemanticSearch, 'search'>, store: MessageLookup) {
    this.#search = search;
    this.#store = store;
  }

  async nearest(q: { provider: string; tenant: string; guildId: string; text: string; k: number }): Promise<ThreadLine[]> {
    if (q.k === 0 || q.text.trim().length === 0) return [];
    const hits = await this.#search.search({ provider: q.provider, tenant: q.tenant, text: q.text.slice(0, 2000), k: q.k, kinds: ['message'], space_ids: [q.guildId] });
    const out: ThreadLine[] = [];
    for (const h of hits) {
      const row = await this.#store.getIndexedMessage({ provider: q.provider, tenant: q.tenant, foreign_id: h.foreign_id });
      if (!row || row.deleted_at !== null || row.content.length === 0) continue;
      const raw = (row.raw ?? {}) as { author?: unknown; member?: unknown };
      out.push({ id: h.foreign_id, author: payloadUser(raw.author, raw.member, row.author_id).name, fromBot: false, text: row.content.slice(0, 2000) });
    }
    return out;
  }
}
