/**
 * Announces the relayed RTP streams of each voice session as `voice.relay.streams`: on every change
 * and every `intervalMs`, so a server that restarted (and lost its SFU producers) catches up by
 * itself. A session that ends is announced once with no streams, then forgotten.
 */
import type { PayloadOf } from '@promethean/shared';
import type { RtpStreamEvent } from './rtp-forwarder.ts';

export type RelayStreamsPayload = PayloadOf<'voice.relay.streams'>;

export interface RelayAnnouncerOptions {
  /** Period of the full announcement, in ms. */
  intervalMs: number;
  /** Streams announced per session at most (the schema's limit). */
  maxStreamsPerSession: number;
}

export const defaultRelayAnnouncerOptions: RelayAnnouncerOptions = { intervalMs: 2000, maxStreamsPerSession: 256 };

interface Tracked {
  ids: { session_id: string; guild_id: string; channel_id: string };
  /** user id → stream. */
  streams: Map<string, { ssrc: number; payload_type: number }>;
}

export class RelayAnnouncer {
  readonly options: RelayAnnouncerOptions;
  /** Called when publishing throws (the bus is closed); the announcement is retried on the next tick. */
  onError: ((error: unknown) => void) | undefined;
  readonly #publish: (payload: RelayStreamsPayload) => void;
  readonly #sessions = new Map<string, Tracked>();
  readonly #timer: NodeJS.Timeout;

  constructor(publish: (payload: RelayStreamsPayload) => void, options: Partial<RelayAnnouncerOptions> = {}) {
    this.#publish = publish;
    this.options = { ...defaultRelayAnnouncerOptions, ...options };
    this.#timer = setInterval(() => {
      for (const id of this.#sessions.keys()) this.#announce(id);
    }, this.options.intervalMs);
    this.#timer.unref();
  }

  /** Starts announcing a session (with no streams until packets flow). */
  track(ids: { session_id: string; guild_id: string; channel_id: string }): void {
    if (!this.#sessions.has(ids.session_id)) this.#sessions.set(ids.session_id, { ids, streams: new Map() });
    this.#announce(ids.session_id);
  }

  /** The session ended: one last announcement with no streams. */
  untrack(sessionId: string): void {
    const t = this.#sessions.get(sessionId);
    if (!t) return;
    t.streams.clear();
    this.#announce(sessionId);
    this.#sessions.delete(sessionId);
  }

  /** A stream opened or closed. Events of untracked sessions are ignored. */
  stream(e: RtpStreamEvent): void {
    const t = this.#sessions.get(e.sessionId);
    if (!t) return;
    if (e.state === 'open') {
      if (t.streams.size >= this.options.maxStreamsPerSession && !t.streams.has(e.userId)) return;
      t.streams.set(e.userId, { ssrc: e.ssrc, payload_type: e.payloadType });
    } else if (t.streams.get(e.userId)?.ssrc === e.ssrc) {
      t.streams.delete(e.userId);
    }
    this.#announce(e.sessionId);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#sessions.clear();
  }

  #announce(sessionId: string): void {
    const t = this.#sessions.get(sessionId);
    if (!t) return;
    try {
      this.#publish({ ...t.ids, streams: [...t.streams].map(([user_id, s]) => ({ user_id, ...s })) });
    } catch (error) {
      this.onError?.(error);
    }
  }
}
