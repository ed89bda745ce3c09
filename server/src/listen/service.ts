/**
 * Listening: a moderator's browser (or a Node consumer) receives chosen speakers of one voice session
 * through the SFU. Every listen is checked against the principal's scope (tenant, guild, channel) and
 * written to the audit log before the offer is handed out; if the record cannot be written, the
 * listen is refused. The stop is recorded too, however it ends (the moderator stops, the connection
 * fails, the session ends). The number of listeners per session is published as `voice.listeners`
 * so the bot can tell the people in the channel.
 */
import { PrometheanError } from '@promethean/shared';
import type { Principal } from '../hub/index.ts';
import type { SfuAnswer, SfuListener, SfuOffer } from '../sfu/index.ts';
import type { RelayStreams, VoiceSessionInfo } from './streams.ts';

/** The audit log as the listen service writes it (the Store satisfies it). */
export interface ListenAuditLog {
  appendAudit(entry: {
    provider: string;
    tenant: string;
    guild_id: string | null;
    channel_id: string | null;
    actor: string;
    action: string;
    detail: string;
  }): Promise<unknown>;
}

export interface ListenServiceOptions {
  /** Listeners one session (principal) may hold at once. */
  maxPerPrincipal: number;
  /** Listeners in all. */
  maxTotal: number;
}

export const defaultListenServiceOptions: ListenServiceOptions = { maxPerPrincipal: 8, maxTotal: 1024 };

interface ListenerEntry {
  id: string;
  info: VoiceSessionInfo;
  principal: Principal;
  owner: string;
  listener: SfuListener;
  userIds: string[];
  stopped: boolean;
}

/** What a listen hands back: the listener id and the server's offer. */
export interface ListenOffer {
  listener_id: string;
  offer: SfuOffer;
}

/** Who a principal is, for ownership of listeners and for the audit log. */
export function principalKey(p: Principal): string {
  return p.sid ? `session:${p.sid}` : p.role === 'agent' ? 'agent' : `${p.role}:${p.tenant ?? '*'}`;
}

/** Whether `p` may hear a voice session: role, tenant, and its guild and channel when scoped. */
export function mayListen(p: Principal, s: VoiceSessionInfo): boolean {
  if (p.role === 'agent') return true;
  if (p.role !== 'owner' && p.role !== 'moderator') return false;
  if (p.tenant !== s.tenant) return false;
  if (p.guild !== undefined && p.guild !== s.guildId) return false;
  if (p.channel !== undefined && p.channel !== s.channelId) return false;
  return true;
}

export class ListenService {
  readonly options: ListenServiceOptions;
  readonly #streams: RelayStreams;
  readonly #audit: ListenAuditLog;
  readonly #announce: (info: VoiceSessionInfo, count: number) => void;
  readonly #listeners = new Map<string, ListenerEntry>();
  readonly #log: (line: string) => void;

  constructor(
    streams: RelayStreams,
    audit: ListenAuditLog,
    announce: (info: VoiceSessionInfo, count: number) => void,
    options: Partial<ListenServiceOptions> = {},
    log: (line: string) => void = () => undefined,
  ) {
    this.#streams = streams;
    this.#audit = audit;
    this.#announce = announce;
    this.#log = log;
    this.options = { ...defaultListenServiceOptions, ...options };
    streams.on('sessionclose', (sessionId) => {
      for (const e of [...this.#listeners.values()]) if (e.info.sessionId === sessionId) void this.#end(e, 'session closed');
    });
  }

  /** Listeners of a session. */
  count(sessionId: string): number {
    let n = 0;
    for (const e of this.#listeners.values()) if (e.info.sessionId === sessionId) n++;
    return n;
  }

  /** Starts listening to `userIds` (all current speakers when empty) of a session. */
  async listen(principal: Principal, sessionId: string, userIds: readonly string[]): Promise<ListenOffer> {
    const info = this.#streams.session(sessionId);
    const router = this.#streams.router(sessionId);
    if (!info || !router) throw new PrometheanError('not_found', `no live voice session ${sessionId}`);
    if (!mayListen(principal, info)) throw new PrometheanError('forbidden', `this session may not listen to ${sessionId}`);
    const owner = principalKey(principal);
    let mine = 0;
    for (const e of this.#listeners.values()) if (e.owner === owner) mine++;
    if (mine >= this.options.maxPerPrincipal) throw new PrometheanError('rate_limited', `at most ${this.options.maxPerPrincipal} listeners per session; stop one first`);
    if (this.#listeners.size >= this.options.maxTotal) throw new PrometheanError('rate_limited', 'the server has as many listeners as it takes');
    const listener = await router.createListener();
    const entry: ListenerEntry = { id: listener.id, info, principal, owner, listener, userIds: [...userIds], stopped: false };
    try {
      // On record before anything is heard: no audit row, no listen.
      await this.#record(entry, 'listen.start', {});
    } catch (cause) {
      listener.close();
      throw new PrometheanError('unavailable', 'the listen could not be written to the audit log, so it is refused; check the store', { cause });
    }
    this.#listeners.set(entry.id, entry);
    listener.once('close', () => void this.#end(entry, 'connection closed'));
    this.#announce(info, this.count(sessionId));
    try {
      const offer = await listener.setProducers(this.#producerIds(entry));
      return { listener_id: entry.id, offer };
    } catch (error) {
      await this.#end(entry, 'negotiation failed');
      throw error;
    }
  }

  async answer(principal: Principal, listenerId: string, answer: SfuAnswer): Promise<void> {
    const entry = this.#own(principal, listenerId);
    await entry.listener.answer(answer);
  }

  /** Chooses other speakers (a speaker joined or left): a new offer on the same connection. */
  async update(principal: Principal, listenerId: string, userIds: readonly string[]): Promise<SfuOffer> {
    const entry = this.#own(principal, listenerId);
    entry.userIds = [...userIds];
    return entry.listener.setProducers(this.#producerIds(entry));
  }

  async stop(principal: Principal, listenerId: string): Promise<void> {
    const entry = this.#own(principal, listenerId);
    await this.#end(entry, 'stopped by the listener');
  }

  /** Ends every listener of one owner (a revoked session); each stop is recorded. Returns how many. */
  async stopOwner(owner: string, reason: string): Promise<number> {
    const mine = [...this.#listeners.values()].filter((e) => e.owner === owner);
    await Promise.all(mine.map((e) => this.#end(e, reason)));
    return mine.length;
  }

  /** Ends every listener (server shutdown); each stop is recorded. */
  async close(): Promise<void> {
    await Promise.all([...this.#listeners.values()].map((e) => this.#end(e, 'server stopping')));
  }

  #own(principal: Principal, listenerId: string): ListenerEntry {
    const entry = this.#listeners.get(listenerId);
    // Another session's listener is reported as unknown: ids are not an oracle.
    if (!entry || entry.owner !== principalKey(principal)) throw new PrometheanError('not_found', `no listener ${listenerId}`);
    return entry;
  }

  #producerIds(entry: ListenerEntry): string[] {
    const producers = this.#streams.producers(entry.info.sessionId);
    const users = entry.userIds.length > 0 ? entry.userIds : [...producers.keys()];
    return users.flatMap((u) => {
      const p = producers.get(u);
      return p ? [p.id] : [];
    });
  }

  async #end(entry: ListenerEntry, reason: string): Promise<void> {
    if (entry.stopped) return;
    entry.stopped = true;
    this.#listeners.delete(entry.id);
    entry.listener.close();
    this.#announce(entry.info, this.count(entry.info.sessionId));
    await this.#record(entry, 'listen.stop', { reason }).catch((error: unknown) => this.#log(`audit: could not record the end of listener ${entry.id}: ${(error as Error).message}`));
  }

  #record(entry: ListenerEntry, action: string, extra: Record<string, unknown>): Promise<unknown> {
    const p = entry.principal;
    return this.#audit.appendAudit({
      provider: entry.info.provider,
      tenant: entry.info.tenant,
      guild_id: entry.info.guildId,
      channel_id: entry.info.channelId,
      actor: entry.owner,
      action,
      detail: JSON.stringify({ listener_id: entry.id, session_id: entry.info.sessionId, role: p.role, user_ids: entry.userIds, ...extra }),
    });
  }
}
