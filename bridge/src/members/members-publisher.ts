/**
 * `voice.members`: per voice session, the full list of who is in the channel, published on every
 * change (`join` / `leave` / `update` naming the user, `snapshot` when several changed at once) and as
 * a `snapshot` every `intervalMs`, so a late subscriber or a restarted server catches up.
 */
import type { PayloadOf } from '@promethean/shared';
import { MemberRoster, changeOf } from './roster.ts';
import type { VoiceMemberSource } from './source.ts';

export interface VoiceMembersPublisherOptions {
  /** Period of the full snapshot per session, ms (the contract says at most 5 s). */
  intervalMs: number;
  /** Most members listed per session (the schema allows 1,000). */
  maxMembers: number;
  /** Most sessions tracked at once. */
  maxSessions: number;
}

export const defaultVoiceMembersPublisherOptions: VoiceMembersPublisherOptions = { intervalMs: 5000, maxMembers: 1000, maxSessions: 256 };

export interface TrackedSession {
  sessionId: string;
  guildId: string;
  channelId: string;
}

type Payload = PayloadOf<'voice.members'>;

interface Entry {
  ids: TrackedSession;
  roster: MemberRoster;
}

export class VoiceMembersPublisher {
  readonly options: VoiceMembersPublisherOptions;
  /** Publishes, members left out over `maxMembers`, sessions refused over `maxSessions`, publishes that threw. */
  readonly counters = { published: 0, truncated: 0, refused: 0, errors: 0 };
  /** Called with what a publish threw (it runs inside discord.js event handlers and a timer: never rethrown). */
  onError: (error: unknown) => void = () => undefined;
  readonly #source: VoiceMemberSource;
  readonly #publish: (payload: Payload) => void;
  readonly #sessions = new Map<string, Entry>();
  readonly #unsubscribe: () => void;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(source: VoiceMemberSource, publish: (payload: Payload) => void, options: Partial<VoiceMembersPublisherOptions> = {}) {
    this.options = { ...defaultVoiceMembersPublisherOptions, ...options };
    this.#source = source;
    this.#publish = publish;
    this.#unsubscribe = source.onChange((guildId) => this.#changed(guildId));
    this.#timer = setInterval(() => this.tick(), this.options.intervalMs);
  }

  /** Starts publishing a session's members (an initial snapshot now). Re-tracking replaces the channel. */
  track(ids: TrackedSession): void {
    if (this.#closed) return;
    if (!this.#sessions.has(ids.sessionId) && this.#sessions.size >= this.options.maxSessions) {
      this.counters.refused++;
      return;
    }
    const entry: Entry = { ids: { ...ids }, roster: new MemberRoster(this.options.maxMembers) };
    this.#sessions.set(ids.sessionId, entry);
    this.#send(entry, { kind: 'snapshot' });
  }

  untrack(sessionId: string): void {
    this.#sessions.delete(sessionId);
  }

  get tracked(): number {
    return this.#sessions.size;
  }

  /** Publishes a snapshot of one session now (a repeated join asks for the session's state again). */
  snapshot(sessionId: string): void {
    const entry = this.#sessions.get(sessionId);
    if (entry) this.#send(entry, { kind: 'snapshot' });
  }

  /** A snapshot of every tracked session (what the timer does every `intervalMs`). */
  tick(): void {
    for (const entry of this.#sessions.values()) this.#send(entry, { kind: 'snapshot' });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#unsubscribe();
    this.#sessions.clear();
  }

  #changed(guildId: string): void {
    for (const entry of this.#sessions.values()) {
      if (entry.ids.guildId !== guildId) continue;
      this.#send(entry, undefined);
    }
  }

  #send(entry: Entry, forced: Payload['change'] | undefined): void {
    try {
      this.#refresh(entry, forced);
    } catch (error) {
      this.counters.errors++;
      this.onError(error);
    }
  }

  /** Refreshes the roster; publishes with `forced` as the change, or with the diff's change when there is one. */
  #refresh(entry: Entry, forced: Payload['change'] | undefined): void {
    const { guildId, channelId, sessionId } = entry.ids;
    const diff = entry.roster.update(this.#source.members(guildId, channelId));
    const change = forced ?? changeOf(diff);
    if (!change) return;
    this.counters.truncated += diff.truncated;
    const names = this.#source.names(guildId, channelId);
    this.counters.published++;
    this.#publish({
      session_id: sessionId,
      guild_id: guildId,
      channel_id: channelId,
      ...(names.guild_name ? { guild_name: names.guild_name } : {}),
      ...(names.channel_name ? { channel_name: names.channel_name } : {}),
      members: diff.list,
      change,
    });
  }
}
