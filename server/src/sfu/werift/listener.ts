/**
 * A listener as the caller's process sees it. Offers and answers go through the media process; the
 * connection state comes back as notifications. A failed connection cannot recover (the server offers
 * no ICE restart), so the listener closes itself when its state becomes `failed`.
 */
import { TypedEmitter } from '@promethean/shared';
import { InvalidStateError, SfuError } from '../errors.ts';
import type { SfuAnswer, SfuConnectionState, SfuListener, SfuListenerEvents, SfuOffer, SfuTrackInfo } from '../types.ts';
import type { Channel } from './channel.ts';

/** A browser's answer is a few kB; anything far larger is refused before it reaches werift. */
const MAX_ANSWER_BYTES = 256 * 1024;

export interface WeriftListenerInit {
  id: string;
  sessionId: string;
  channel: Channel;
  onClose: (listener: WeriftListener) => void;
}

export class WeriftListener extends TypedEmitter<SfuListenerEvents> implements SfuListener {
  readonly id: string;
  readonly sessionId: string;
  readonly #channel: Channel;
  readonly #onClose: (listener: WeriftListener) => void;
  #state: SfuConnectionState = 'new';
  #tracks: SfuTrackInfo[] = [];
  #closed = false;

  constructor(init: WeriftListenerInit) {
    super();
    this.id = init.id;
    this.sessionId = init.sessionId;
    this.#channel = init.channel;
    this.#onClose = init.onClose;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get connectionState(): SfuConnectionState {
    return this.#state;
  }

  async setProducers(producerIds: readonly string[]): Promise<SfuOffer> {
    this.#assertOpen();
    if (!Array.isArray(producerIds) || producerIds.some((id) => typeof id !== 'string')) {
      throw new SfuError('producerIds must be a list of strings', { code: 'schema' });
    }
    const offer = await this.#channel.request('listener.setProducers', { listenerId: this.id, producerIds: [...producerIds] });
    this.#assertOpen();
    this.#tracks = offer.tracks;
    return offer;
  }

  async answer(answer: string | SfuAnswer): Promise<void> {
    this.#assertOpen();
    const sdp = typeof answer === 'string' ? answer : answer?.kind === 'sdp' ? answer.sdp : undefined;
    if (typeof sdp !== 'string' || sdp.length === 0) {
      throw new SfuError('the werift driver takes an SDP answer: a string or { kind: "sdp", sdp }', { code: 'schema' });
    }
    if (sdp.length > MAX_ANSWER_BYTES) throw new SfuError(`an SDP answer over ${MAX_ANSWER_BYTES} characters is refused`, { code: 'oversize' });
    await this.#channel.request('listener.answer', { listenerId: this.id, sdp });
  }

  tracks(): SfuTrackInfo[] {
    return this.#tracks.map((t) => ({ ...t }));
  }

  close(): void {
    this.closeLocally(true);
  }

  /** Closes this side; `tellMedia: false` when the media process already closed it. */
  closeLocally(tellMedia: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    if (tellMedia && !this.#channel.closed) void this.#channel.request('listener.close', { listenerId: this.id }).catch(() => undefined);
    this.#onClose(this);
    this.emit('close');
  }

  /** A connection state reported by the media process. */
  handleConnectionState(state: SfuConnectionState): void {
    if (this.#closed || state === this.#state) return;
    this.#state = state;
    this.emit('connectionstatechange', state);
    if (state === 'failed' || state === 'closed') this.close();
  }

  /** A producer was closed: if this listener carried it, its m-line is now silent. */
  handleProducerClose(producerId: string): void {
    if (this.#closed) return;
    if (this.#tracks.some((t) => t.producerId === producerId)) this.emit('producerclose', producerId);
  }

  #assertOpen(): void {
    if (this.#closed) throw new InvalidStateError(`listener ${this.id} is closed`);
  }
}
