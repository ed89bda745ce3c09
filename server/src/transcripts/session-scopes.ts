/**
 * Which guild and channel a voice session belongs to, for the transcript routes' scope checks.
 * Transcript rows carry no guild (the STT worker's envelope names the session, not the guild), so the
 * server records what the relay announces: each session it sees is written to the store
 * (`transcript_sessions`, migration 010) and kept in a bounded memory (least recently seen out
 * first). A lookup asks the live relay table, then the memory, then the store. A session found in
 * none of them has no known guild: the routes refuse a guild- or channel-limited session then, rather
 * than guess from the session id.
 */
import type { VoiceSessionInfo } from '../listen/streams.ts';
import type { Store } from '../store/index.ts';

/** The part of the relay's session table this uses. */
export interface LiveSessions {
  session(sessionId: string): VoiceSessionInfo | undefined;
  on(event: 'change', listener: (sessionId: string) => void): unknown;
}

export type SessionScopeStore = Pick<Store, 'recordTranscriptSession' | 'getTranscriptSession' | 'listTranscriptSessions'>;

export interface SessionScopesOptions {
  /** Sessions kept in memory at most (the least recently seen go first; the store keeps them all). */
  maxRemembered: number;
  /** Sessions a guild-limited deletion reaches at most. */
  maxSessionsPerGuild: number;
}

export const defaultSessionScopesOptions: SessionScopesOptions = { maxRemembered: 4096, maxSessionsPerGuild: 10_000 };

const same = (a: VoiceSessionInfo | undefined, b: VoiceSessionInfo) =>
  a !== undefined && a.provider === b.provider && a.tenant === b.tenant && a.guildId === b.guildId && a.channelId === b.channelId;

export class SessionScopes {
  readonly options: SessionScopesOptions;
  readonly counters = { recorded: 0, recordErrors: 0 };
  readonly #live: LiveSessions | undefined;
  readonly #store: SessionScopeStore | undefined;
  readonly #log: (line: string) => void;
  /** Insertion order is recency: a session seen again moves to the end. */
  readonly #seen = new Map<string, VoiceSessionInfo>();
  /** Writes to the store not yet settled (tests wait for them; close() does not). */
  readonly #writes = new Set<Promise<void>>();

  constructor(live: LiveSessions | undefined, store?: SessionScopeStore, options: Partial<SessionScopesOptions> = {}, log: (line: string) => void = () => undefined) {
    this.options = { ...defaultSessionScopesOptions, ...options };
    this.#live = live;
    this.#store = store;
    this.#log = log;
    // Record each session the relay announces (a change of its speakers), and keep it after it ends.
    live?.on('change', (id) => {
      const info = live.session(id);
      if (info) this.remember(info);
    });
  }

  /** Records a session's scope: in memory at once, in the store when it is new or moved. */
  remember(info: VoiceSessionInfo): void {
    const known = this.#seen.get(info.sessionId);
    this.#seen.delete(info.sessionId);
    this.#seen.set(info.sessionId, info);
    while (this.#seen.size > this.options.maxRemembered) this.#seen.delete(this.#seen.keys().next().value!);
    if (!this.#store || same(known, info)) return;
    const write = this.#store
      .recordTranscriptSession({ provider: info.provider, tenant: info.tenant, session_id: info.sessionId, guild_id: info.guildId, channel_id: info.channelId })
      .then(() => void this.counters.recorded++)
      .catch((error: unknown) => {
        this.counters.recordErrors++;
        // Forget it so the next announcement writes it again.
        if (this.#seen.get(info.sessionId) === info) this.#seen.delete(info.sessionId);
        this.#log(`transcripts: could not record the guild of session ${info.sessionId}: ${(error as Error).message}`);
      })
      .finally(() => this.#writes.delete(write));
    this.#writes.add(write);
  }

  /** Resolves once the store writes made so far have settled. */
  async settled(): Promise<void> {
    await Promise.all([...this.#writes]);
  }

  /**
   * The session's provider, tenant, guild and channel, when known: the live relay table and the
   * memory answer for any tenant (so another tenant's session is recognised as such); the store is
   * asked within `tenant` only.
   */
  async lookup(provider: string, tenant: string, sessionId: string): Promise<VoiceSessionInfo | undefined> {
    const live = this.#live?.session(sessionId);
    if (live) {
      if (!same(this.#seen.get(sessionId), live)) this.remember(live);
      return live;
    }
    const seen = this.#seen.get(sessionId);
    if (seen) return seen;
    const row = await this.#store?.getTranscriptSession({ provider, tenant, session_id: sessionId });
    return row ? { provider: row.provider, tenant: row.tenant, sessionId: row.session_id, guildId: row.guild_id, channelId: row.channel_id } : undefined;
  }

  /** The known sessions of a tenant's guild (and channel): recorded in the store, or in memory. */
  async sessionsOf(provider: string, tenant: string, guildId: string, channelId?: string): Promise<string[]> {
    const out = new Set<string>();
    for (const s of this.#seen.values()) {
      if (s.provider === provider && s.tenant === tenant && s.guildId === guildId && (channelId === undefined || s.channelId === channelId)) out.add(s.sessionId);
    }
    const stored = await this.#store?.listTranscriptSessions({ provider, tenant, guild_id: guildId, ...(channelId ? { channel_id: channelId } : {}), limit: this.options.maxSessionsPerGuild });
    for (const id of stored ?? []) {
      // A session the memory places elsewhere (its id was reused) follows the memory, which is newer.
      const seen = this.#seen.get(id);
      if (!seen || (seen.provider === provider && seen.tenant === tenant && seen.guildId === guildId)) out.add(id);
    }
    return [...out].slice(0, this.options.maxSessionsPerGuild);
  }

  get size(): number {
    return this.#seen.size;
  }
}
