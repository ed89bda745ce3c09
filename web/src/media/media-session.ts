/**
 * The part of listening that differs between SFU drivers: what takes an offer, makes the answer and
 * holds the speakers' tracks. The listener (state machine, recovery, renegotiation) and the audio
 * graph depend on this interface only. `peer.ts` implements it over an `RTCPeerConnection` (`sdp`
 * offers, werift); `mediasoup/session.ts` over mediasoup-client (`mediasoup` offers). One session
 * lives for one SFU listener: a fresh listen gets a fresh session.
 */
import type { SpeakerTrack } from './mids.ts';
import type { MediaAnswer, OfferKind, SfuOffer } from './offer.ts';

/** The connection's state; the same words as `RTCPeerConnectionState` and mediasoup-client's. */
export type MediaConnectionState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

export interface MediaSession {
  /** The offers it takes. */
  readonly kind: OfferKind;
  readonly connectionState: MediaConnectionState;
  /** Called on every connection state change. */
  onstatechange: ((state: MediaConnectionState) => void) | null;
  /**
   * Applies an offer of its kind (the first one, or a renegotiation) and returns the answer to send,
   * or `null` when there is nothing to answer yet (a mediasoup transport that never consumed has no
   * DTLS parameters). Calls are applied one at a time, in order. Rejects with `UnsupportedError`
   * for an offer of another kind or a browser that cannot take it, `InvalidStateError` once closed.
   */
  apply(offer: SfuOffer): Promise<MediaAnswer | null>;
  /** The speakers' tracks for the last applied offer: one per speaker, keyed by the offer's mids. */
  tracks(): SpeakerTrack<MediaStreamTrack>[];
  /** Releases the connection and its tracks. Idempotent. */
  close(): void;
}

/**
 * Told of each speaker's receiver as soon as it exists, before its first frame: an encoded transform
 * (replay capture) must be attached then — Chromium hands a transform set later no frames.
 */
export type OnReceiver = (userId: string, mid: string, receiver: RTCRtpReceiver) => void;

/** Makes the session for an offer's kind (the composition root picks the concrete ones). */
export type CreateMediaSession = (kind: OfferKind) => MediaSession;
