/**
 * A listener as the caller's process sees it. Offers and answers go through the media process; the
 * connection state comes back as notifications. A failed connection cannot recover (the server offers
 * no ICE restart), so the listener closes itself when its state becomes `failed`.
 */
import { SfuError } from '../errors.ts';
import { ListenerBase, type ListenerIdentity } from '../listener-base.ts';
import type { SfuAnswer, SfuConnectionState, SfuOffer } from '../types.ts';
import type { Channel } from './channel.ts';

/** A browser's answer is a few kB; anything far larger is refused before it reaches werift. */
const MAX_ANSWER_BYTES = 256 * 1024;

export interface WeriftListenerInit extends ListenerIdentity {
  channel: Channel;
}

export class WeriftListener extends ListenerBase {
  readonly #channel: Channel;

  constructor(init: WeriftListenerInit) {
    super(init);
    this.#channel = init.channel;
  }

  protected async offer(producerIds: readonly string[]): Promise<SfuOffer> {
    const offer = await this.#channel.request('listener.setProducers', { listenerId: this.id, producerIds: [...producerIds] });
    this.assertOpen();
    this.setTracks(offer.tracks);
    return offer;
  }

  async answer(answer: string | SfuAnswer): Promise<void> {
    this.assertOpen();
    const sdp = typeof answer === 'string' ? answer : answer?.kind === 'sdp' ? answer.sdp : undefined;
    if (typeof sdp !== 'string' || sdp.length === 0) {
      throw new SfuError('the werift driver takes an SDP answer: a string or { kind: "sdp", sdp }', { code: 'schema' });
    }
    if (sdp.length > MAX_ANSWER_BYTES) throw new SfuError(`an SDP answer over ${MAX_ANSWER_BYTES} characters is refused`, { code: 'oversize' });
    await this.#channel.request('listener.answer', { listenerId: this.id, sdp });
  }

  protected release(): void {
    if (!this.#channel.closed) void this.#channel.request('listener.close', { listenerId: this.id }).catch(() => undefined);
  }

  /** A connection state reported by the media process. */
  handleConnectionState(state: SfuConnectionState): void {
    this.setConnectionState(state);
  }
}
