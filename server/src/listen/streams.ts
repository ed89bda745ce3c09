/**
 * Keeps the SFU's routers and producers in step with what the voice access agent relays: each
 * `voice.relay.streams` announcement lists, for one voice session, every speaker's RTP stream
 * (user, ssrc, payload type) that the bridge sends to the SFU ingest. New streams become producers,
 * vanished ones are closed, and a session whose announcements stop is closed after a grace period.
 */
import { EventEmitter } from 'node:events';
import type { Sfu, SfuProducer, SfuRouter } from '../sfu/index.ts';

/** One speaker's relayed stream, as the bridge announces it. */
export interface RelayedStream {
  user_id: string;
  ssrc: number;
  payload_type: number;
}

/** A `voice.relay.streams` announcement, with the provider and tenant of its envelope. */
export interface RelayAnnouncement {
  provider: string;
  tenant: string;
  session_id: string;
  guild_id: string;
  channel_id: string;
  streams: RelayedStream[];
}

/** Where a voice session lives: what scope checks compare against. */
export interface VoiceSessionInfo {
  provider: string;
  tenant: string;
  sessionId: string;
  guildId: string;
  channelId: string;
}

export interface RelayStreamsOptions {
  /** A session not announced for this long is closed (its router, producers and listeners). */
  staleMs: number;
  /** Sessions tracked at most; announcements of further sessions are ignored and counted. */
  maxSessions: number;
  /** Streams per session at most. */
  maxStreamsPerSession: number;
}

export const defaultRelayStreamsOptions: RelayStreamsOptions = { staleMs: 15_000, maxSessions: 256, maxStreamsPerSession: 64 };

interface SessionEntry {
  info: VoiceSessionInfo;
  router: SfuRouter;
  /** user id → producer. */
  producers: Map<string, SfuProducer>;
  lastSeen: number;
}

type Events = {
  /** A session's set of producers changed (speakers joined or left the relay). */
  change: [sessionId: string];
  /** A session's router closed (stale, or the SFU died). */
  sessionclose: [sessionId: string];
};

export class RelayStreams extends EventEmitter<Events> {
  readonly options: RelayStreamsOptions;
  readonly counters = { announcements: 0, ignoredSessions: 0, produceErrors: 0 };
  readonly #sfu: Sfu;
  readonly #sessions = new Map<string, SessionEntry>();
  /** Announcements are applied one at a time, in arrival order. */
  #queue: Promise<void> = Promise.resolve();
  readonly #sweeper: NodeJS.Timeout;

  constructor(sfu: Sfu, options: Partial<RelayStreamsOptions> = {}) {
    super();
    this.#sfu = sfu;
    this.options = { ...defaultRelayStreamsOptions, ...options };
    this.#sweeper = setInterval(() => this.#sweep(), Math.max(250, this.options.staleMs / 3));
    this.#sweeper.unref();
  }

  session(sessionId: string): VoiceSessionInfo | undefined {
    return this.#sessions.get(sessionId)?.info;
  }

  router(sessionId: string): SfuRouter | undefined {
    return this.#sessions.get(sessionId)?.router;
  }

  /** The open producers of a session's speakers, by user id. */
  producers(sessionId: string): Map<string, SfuProducer> {
    return new Map(this.#sessions.get(sessionId)?.producers ?? []);
  }

  /** Applies one announcement; resolves once the SFU has been brought in step. */
  apply(a: RelayAnnouncement): Promise<void> {
    this.counters.announcements++;
    const run = this.#queue.then(() => this.#apply(a));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  close(): void {
    clearInterval(this.#sweeper);
    for (const id of [...this.#sessions.keys()]) this.#drop(id);
  }

  async #apply(a: RelayAnnouncement): Promise<void> {
    if (this.#sfu.closed) return;
    let entry = this.#sessions.get(a.session_id);
    if (entry && (entry.router.closed || entry.info.tenant !== a.tenant || entry.info.provider !== a.provider)) {
      this.#drop(a.session_id);
      entry = undefined;
    }
    if (!entry) {
      if (this.#sessions.size >= this.options.maxSessions) {
        this.counters.ignoredSessions++;
        return;
      }
      const router = this.#sfu.router(a.session_id) ?? (await this.#sfu.createRouter(a.session_id));
      entry = {
        info: { provider: a.provider, tenant: a.tenant, sessionId: a.session_id, guildId: a.guild_id, channelId: a.channel_id },
        router,
        producers: new Map(),
        lastSeen: Date.now(),
      };
      this.#sessions.set(a.session_id, entry);
      const id = a.session_id;
      const e = entry;
      router.once('close', () => {
        if (this.#sessions.get(id) === e) {
          this.#sessions.delete(id);
          this.emit('sessionclose', id);
        }
      });
    }
    entry.lastSeen = Date.now();
    const wanted = new Map(a.streams.slice(0, this.options.maxStreamsPerSession).map((s) => [s.user_id, s]));
    let changed = false;
    for (const [userId, producer] of entry.producers) {
      const s = wanted.get(userId);
      if (!s || s.ssrc !== producer.ssrc || producer.closed) {
        producer.close();
        entry.producers.delete(userId);
        changed = true;
      }
    }
    for (const [userId, s] of wanted) {
      if (entry.producers.has(userId)) continue;
      try {
        const producer = await entry.router.produce({ userId, ssrc: s.ssrc, payloadType: s.payload_type });
        entry.producers.set(userId, producer);
        changed = true;
      } catch {
        // A colliding or invalid ssrc: counted; the next announcement tries again.
        this.counters.produceErrors++;
      }
    }
    if (changed) this.emit('change', a.session_id);
  }

  #sweep(): void {
    const now = Date.now();
    for (const [id, entry] of this.#sessions) if (now - entry.lastSeen > this.options.staleMs) this.#drop(id);
  }

  #drop(sessionId: string): void {
    const entry = this.#sessions.get(sessionId);
    if (!entry) return;
    this.#sessions.delete(sessionId);
    if (!entry.router.closed) entry.router.close();
    this.emit('sessionclose', sessionId);
  }
}
