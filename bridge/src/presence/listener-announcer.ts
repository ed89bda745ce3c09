/**
 * Tells the people in a voice channel that moderators listen: from `voice.listeners` counts, sets the
 * bot's presence to "Relaying to N moderators" (nothing when 0). A bot has one presence across all its
 * guilds, so N is the sum over the sessions this bridge holds in guilds where announcing is on
 * (providers.yml `voice.announce_listeners`). Updates are coalesced: at most one per `minIntervalMs`,
 * the last one always sent.
 */
import type { PayloadOf } from '@promethean/shared';

/** Where the activity text goes (the discord.js client's presence, or a test double). */
export interface PresenceSink {
  /** Shows `text` as the bot's activity; null clears it. */
  setActivity(text: string | null): void;
}

export interface ListenerAnnouncerOptions {
  /** Whether a guild announces listeners (providers.yml). */
  announces: (guildId: string) => boolean;
  /** The activity text for `n` > 0 listening moderators. */
  text: (n: number) => string;
  /** Fewest ms between two presence updates (the gateway limits how often a bot may send op 3). */
  minIntervalMs: number;
  /** Most sessions whose count is remembered. */
  maxSessions: number;
}

export const defaultListenerAnnouncerOptions: ListenerAnnouncerOptions = {
  announces: () => true,
  text: (n) => `Relaying to ${n} moderator${n === 1 ? '' : 's'}`,
  minIntervalMs: 1000,
  maxSessions: 256,
};

interface Count {
  guildId: string;
  count: number;
}

export class ListenerAnnouncer {
  readonly options: ListenerAnnouncerOptions;
  /** Presence updates sent, and counts received for guilds that do not announce. */
  readonly counters = { sent: 0, notAnnounced: 0 };
  readonly #sink: PresenceSink;
  /** Last count per session id, most recently set last (bounded). Kept while a session is closed: the server only republishes on change. */
  readonly #counts = new Map<string, Count>();
  /** Sessions the bridge holds now, by id → guild. */
  readonly #open = new Map<string, string>();
  #shown: string | null = null;
  #lastSentAt = -Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(sink: PresenceSink, options: Partial<ListenerAnnouncerOptions> = {}) {
    this.#sink = sink;
    this.options = { ...defaultListenerAnnouncerOptions, ...options };
  }

  /** Applies a `voice.listeners` message; returns whether its guild announces. */
  setCount(p: PayloadOf<'voice.listeners'>): boolean {
    this.#counts.delete(p.session_id);
    this.#counts.set(p.session_id, { guildId: p.guild_id, count: p.count });
    while (this.#counts.size > this.options.maxSessions) this.#counts.delete(this.#counts.keys().next().value as string);
    const announces = this.options.announces(p.guild_id);
    if (!announces) this.counters.notAnnounced++;
    this.#update();
    return announces;
  }

  sessionOpened(sessionId: string, guildId: string): void {
    this.#open.set(sessionId, guildId);
    this.#update();
  }

  sessionClosed(sessionId: string): void {
    if (!this.#open.delete(sessionId)) return;
    this.#update();
  }

  /** Moderators listening across the open sessions of announcing guilds. */
  total(): number {
    let n = 0;
    for (const [sessionId, guildId] of this.#open) {
      const c = this.#counts.get(sessionId);
      if (c && this.options.announces(guildId)) n += c.count;
    }
    return n;
  }

  /** The text the bot shows now (null = no activity). */
  get shown(): string | null {
    return this.#shown;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #wanted(): string | null {
    const n = this.total();
    return n > 0 ? this.options.text(n) : null;
  }

  #update(): void {
    if (this.#closed || this.#timer) return; // a pending update sends the latest state when it fires
    const wanted = this.#wanted();
    if (wanted === this.#shown) return;
    const wait = this.#lastSentAt + this.options.minIntervalMs - performance.now();
    if (wait > 0) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#update();
      }, wait);
      return;
    }
    this.#shown = wanted;
    this.#lastSentAt = performance.now();
    this.counters.sent++;
    this.#sink.setActivity(wanted);
  }
}
