/**
 * A moderator's listener on one voice session: drives the signalling and a media session (an
 * `RTCPeerConnection` for `sdp` offers, mediasoup-client for `mediasoup` ones, chosen by the first
 * offer's kind) through {@link nextListenerState}. It recovers by itself — a failed or
 * long-disconnected connection, or a 404 for its listener (server restarted), starts over with a
 * fresh listen for the speakers wanted at that moment, with bounded backoff — and renegotiates on
 * the same connection when the wanted speakers change (`refresh()`).
 */
import { ApiError, InvalidStateError, UnsupportedError, errorMessage } from '../errors.ts';
import { backoffDelay, defaultBackoffOptions, type BackoffOptions } from '../util/backoff.ts';
import { Emitter } from '../util/emitter.ts';
import { IDLE, nextListenerState, type ListenerEvent, type ListenerState } from './listener-machine.ts';
import type { CreateMediaSession, MediaConnectionState, MediaSession } from './media-session.ts';
import type { SpeakerTrack } from './mids.ts';
import type { SfuSignalling } from './signalling.ts';

export interface ListenTarget {
  user_ids: string[];
  /** Those known to send audio: each should get a track; if one is missing the listener asks again. */
  expect?: string[];
  /** Changes whenever a renegotiation is due. */
  key: string;
}

export interface ListenerOptions {
  /** Delays between fresh attempts after a failure or a lost connection. */
  backoff: BackoffOptions;
  /** How long the connection may stay `disconnected` before starting over. */
  disconnectGraceMs: number;
  /** How long after the answer the connection may take to come up. */
  connectTimeoutMs: number;
  /** Wait for roster changes to settle before renegotiating. */
  refreshDebounceMs: number;
  /** How often to ask again (with backoff) for a speaker known to talk whose track the SFU left out. */
  missingRetries: number;
  /** Source of jitter, [0, 1). */
  random: () => number;
}

export const defaultListenerOptions: ListenerOptions = {
  backoff: defaultBackoffOptions,
  disconnectGraceMs: 4000,
  connectTimeoutMs: 10_000,
  refreshDebounceMs: 150,
  missingRetries: 5,
  random: Math.random,
};

export interface ListenerDeps {
  signalling: SfuSignalling;
  /** The media session for an offer's kind; one per SFU listener. */
  createSession: CreateMediaSession;
  /** The speakers wanted now; read at every (re)negotiation so a retry resumes the current ones. */
  target: (session_id: string) => ListenTarget;
}

export type ListenerEvents = {
  stateChange: [oldState: ListenerState, newState: ListenerState];
  /** The speakers' tracks after every negotiation; empty when the connection goes away. */
  tracks: [tracks: SpeakerTrack<MediaStreamTrack>[]];
  /** A call failed without ending the listener (a refused update), or the sign-in expired (401). */
  problem: [error: Error];
};

const noop = (): void => undefined;

export class Listener extends Emitter<ListenerEvents> {
  readonly options: ListenerOptions;
  readonly #deps: ListenerDeps;
  #state: ListenerState = IDLE;
  /** Bumped whenever resources are released; async work of an older generation is dropped. */
  #gen = 0;
  #session: MediaSession | undefined;
  #abort: AbortController | undefined;
  #listenerId: string | undefined;
  #negotiatedKey = '';
  #hadTracks = false;
  #renegotiating = false;
  #refreshAgain = false;
  #updateFailures = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #missingTimer: ReturnType<typeof setTimeout> | undefined;
  #missingKey = '';
  #missingTries = 0;
  #closed = false;

  constructor(deps: ListenerDeps, options: Partial<ListenerOptions> = {}) {
    super();
    this.#deps = deps;
    this.options = { ...defaultListenerOptions, ...options };
  }

  get state(): ListenerState {
    return this.#state;
  }

  /** Listens to `session_id` (starting over if already listening). */
  start(session_id: string): void {
    if (this.#closed) throw new InvalidStateError('listener is closed');
    this.#dispatch({ type: 'start', session_id });
  }

  /** Stops listening and tells the SFU (idempotent). */
  stop(): void {
    this.#dispatch({ type: 'stop' });
  }

  /** Stops for good. */
  close(): void {
    this.stop();
    this.#closed = true;
  }

  /** The wanted speakers may have changed: renegotiate once things settle, when live. */
  refresh(): void {
    if (this.#state.status !== 'live' || this.#refreshTimer !== undefined) return;
    this.#refreshTimer = setTimeout(() => {
      this.#refreshTimer = undefined;
      void this.#renegotiate();
    }, this.options.refreshDebounceMs);
  }

  #dispatch(event: ListenerEvent): void {
    const old = this.#state;
    const next = nextListenerState(old, event, this.options.backoff, this.options.random);
    if (next === old) return;
    // A new attempt, a stop, a final error or a lost connection release the old connection first.
    const fresh = event.type === 'start' || event.type === 'retry';
    if (fresh || next.status === 'idle' || next.status === 'error' || next.status === 'reconnecting') this.#release();
    this.#state = next;
    this.emit('stateChange', old, next);
    if (this.#state !== next) return; // a listener moved it on
    switch (next.status) {
      case 'negotiating':
        if (fresh) void this.#negotiate();
        else if (event.type === 'answered') this.#onAnswered();
        break;
      case 'live':
        clearTimeout(this.#connectTimer);
        this.#connectTimer = undefined;
        this.#updateFailures = 0;
        if (event.type === 'connected') this.refresh();
        break;
      case 'reconnecting':
        this.#retryTimer = setTimeout(() => {
          this.#retryTimer = undefined;
          this.#dispatch({ type: 'retry' });
        }, next.delay_ms);
        break;
      default:
        break;
    }
  }

  /** Closes the media session, cancels timers and requests, and deletes the SFU listener. */
  #release(): void {
    this.#gen++;
    this.#abort?.abort();
    this.#abort = undefined;
    for (const t of [this.#retryTimer, this.#graceTimer, this.#connectTimer, this.#refreshTimer, this.#missingTimer]) clearTimeout(t);
    this.#retryTimer = this.#graceTimer = this.#connectTimer = this.#refreshTimer = this.#missingTimer = undefined;
    this.#renegotiating = false;
    this.#refreshAgain = false;
    this.#session?.close();
    this.#session = undefined;
    if (this.#listenerId !== undefined) this.#deps.signalling.remove(this.#listenerId).catch(noop);
    this.#listenerId = undefined;
    this.#negotiatedKey = '';
    if (this.#hadTracks) {
      this.#hadTracks = false;
      this.emit('tracks', []);
    }
  }

  async #negotiate(): Promise<void> {
    const state = this.#state;
    if (state.status !== 'negotiating') return;
    const gen = this.#gen;
    const abort = (this.#abort = new AbortController());
    const { signalling } = this.#deps;
    try {
      const target = this.#deps.target(state.session_id);
      const offer = await signalling.listen(state.session_id, target.user_ids, abort.signal);
      if (gen !== this.#gen) {
        signalling.remove(offer.listener_id).catch(noop);
        return;
      }
      this.#listenerId = offer.listener_id;
      const session = (this.#session = this.#deps.createSession(offer.kind));
      session.onstatechange = (s) => this.#onSessionState(gen, s);
      const answer = await session.apply(offer);
      if (gen !== this.#gen) return;
      // No answer yet (a mediasoup transport without consumers): wait for the connection as usual.
      if (answer) await signalling.answer(offer.listener_id, answer, abort.signal);
      if (gen !== this.#gen) return;
      this.#negotiatedKey = target.key;
      this.#dispatch({ type: 'answered', listener_id: offer.listener_id, tracks: offer.tracks });
      if (gen === this.#gen) this.#checkMissing(target, offer.tracks);
    } catch (error) {
      if (gen !== this.#gen) return;
      if (error instanceof ApiError && error.status === 401) this.emit('problem', error);
      this.#dispatch({ type: 'failed', retryable: listenRetryable(error), code: errorCode(error), reason: errorMessage(error) });
    }
  }

  #onAnswered(): void {
    const state = this.#state;
    const session = this.#session;
    if (state.status !== 'negotiating' || !session) return;
    this.#emitTracks(session);
    if (session.connectionState === 'connected') {
      this.#dispatch({ type: 'connected' });
      return;
    }
    const gen = this.#gen;
    this.#connectTimer = setTimeout(() => {
      this.#connectTimer = undefined;
      if (gen === this.#gen) this.#dispatch({ type: 'lost', reason: `audio did not connect within ${this.options.connectTimeoutMs / 1000} s` });
    }, this.options.connectTimeoutMs);
  }

  #onSessionState(gen: number, s: MediaConnectionState): void {
    if (gen !== this.#gen) return;
    if (s === 'connected') {
      clearTimeout(this.#graceTimer);
      this.#graceTimer = undefined;
      this.#dispatch({ type: 'connected' });
    } else if (s === 'failed') {
      this.#dispatch({ type: 'lost', reason: 'the audio connection failed' });
    } else if (s === 'disconnected' && this.#graceTimer === undefined) {
      this.#graceTimer = setTimeout(() => {
        this.#graceTimer = undefined;
        if (gen === this.#gen) this.#dispatch({ type: 'lost', reason: 'the audio connection was interrupted' });
      }, this.options.disconnectGraceMs);
    }
  }

  /** Brings the connection to the wanted speakers with a new offer from the SFU; one at a time. */
  async #renegotiate(): Promise<void> {
    if (this.#renegotiating) {
      this.#refreshAgain = true;
      return;
    }
    const gen = this.#gen;
    this.#renegotiating = true;
    try {
      for (;;) {
        this.#refreshAgain = false;
        const state = this.#state;
        const session = this.#session;
        if (gen !== this.#gen || state.status !== 'live' || !session) return;
        const target = this.#deps.target(state.session_id);
        if (target.key === this.#negotiatedKey) {
          if (this.#refreshAgain) continue;
          return;
        }
        const { signalling } = this.#deps;
        const signal = this.#abort?.signal;
        try {
          const offer = await signalling.producers(state.listener_id, target.user_ids, signal);
          if (gen !== this.#gen) return;
          const answer = await session.apply(offer);
          if (gen !== this.#gen) return;
          if (answer) await signalling.answer(state.listener_id, answer, signal);
          if (gen !== this.#gen) return;
          this.#negotiatedKey = target.key;
          this.#updateFailures = 0;
          this.#dispatch({ type: 'renegotiated', tracks: offer.tracks });
          this.#emitTracks(session);
          this.#checkMissing(target, offer.tracks);
        } catch (error) {
          if (gen !== this.#gen) return;
          this.#onUpdateFailed(error, target.key);
          return;
        }
      }
    } finally {
      if (gen === this.#gen) this.#renegotiating = false;
    }
  }

  /**
   * A speaker known to talk may not have a producer on the SFU yet when the roster says so: ask
   * again a few times, with backoff, while the same speakers are wanted.
   */
  #checkMissing(target: ListenTarget, tracks: readonly { user_id: string }[]): void {
    if (target.key !== this.#missingKey) {
      this.#missingKey = target.key;
      this.#missingTries = 0;
    }
    const missing = (target.expect ?? []).filter((u) => !tracks.some((t) => t.user_id === u));
    if (missing.length === 0 || this.#missingTries >= this.options.missingRetries) return;
    const delay = backoffDelay(this.#missingTries++, this.options.backoff, this.options.random);
    clearTimeout(this.#missingTimer);
    this.#missingTimer = setTimeout(() => {
      this.#missingTimer = undefined;
      this.#negotiatedKey = ''; // differs from any key: the next refresh renegotiates
      this.refresh();
    }, delay);
  }

  #onUpdateFailed(error: unknown, key: string): void {
    if (!(error instanceof ApiError)) {
      // The media session refused the offer: its state is unknown, start over.
      this.#dispatch({ type: 'lost', reason: `renegotiation failed: ${errorMessage(error)}` });
      return;
    }
    if (error.status === 404) {
      this.#dispatch({ type: 'lost', reason: 'the server no longer knows this listener' });
      return;
    }
    // 409: a newer offer replaced the one answered (or none awaited an answer); ask for the newest and
    // apply it, without bothering the moderator.
    if (error.status !== 409) this.emit('problem', error);
    if (error.retryable || error.status === 409) {
      const delay = backoffDelay(this.#updateFailures++, this.options.backoff, this.options.random);
      clearTimeout(this.#refreshTimer);
      this.#refreshTimer = setTimeout(() => {
        this.#refreshTimer = undefined;
        void this.#renegotiate();
      }, delay);
    } else {
      this.#negotiatedKey = key; // do not ask again for the same list
    }
  }

  #emitTracks(session: MediaSession): void {
    const tracks = session.tracks();
    this.#hadTracks = tracks.length > 0 || this.#hadTracks;
    this.emit('tracks', tracks);
  }
}

/**
 * A fresh listen is worth another try unless the server said no for good (400/401/403), its offer
 * cannot be taken (an unknown kind) or this browser cannot take it.
 */
function listenRetryable(error: unknown): boolean {
  if (error instanceof UnsupportedError) return false;
  if (!(error instanceof ApiError)) return true;
  if (error.retryable) return true;
  return error.status === 404 || error.status === 409;
}

function errorCode(error: unknown): string {
  if (error instanceof ApiError || error instanceof UnsupportedError) return error.code;
  return 'webrtc';
}
