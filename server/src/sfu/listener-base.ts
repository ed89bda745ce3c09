/**
 * What every driver's listener shares: the connection state (a failed or closed connection closes the
 * listener: the server offers no ICE restart), the tracks of the last offer, the check of
 * `setProducers()`'s argument, and (from {@link ChildBase}) its identity and close. A driver supplies
 * the offer, the answer and the release.
 */
import { ChildBase, type ChildIdentity } from './child-base.ts';
import { SfuError } from './errors.ts';
import type { SfuAnswer, SfuConnectionState, SfuListener, SfuListenerEvents, SfuOffer, SfuTrackInfo } from './types.ts';

export type ListenerIdentity = ChildIdentity;

/** `O`: the offers this driver makes. */
export abstract class ListenerBase<O extends SfuOffer = SfuOffer> extends ChildBase<SfuListenerEvents> implements SfuListener {
  #state: SfuConnectionState = 'new';
  #tracks: SfuTrackInfo[] = [];

  constructor(init: ListenerIdentity) {
    super(init, 'listener');
  }

  get connectionState(): SfuConnectionState {
    return this.#state;
  }

  async setProducers(producerIds: readonly string[]): Promise<O> {
    this.assertOpen();
    if (!Array.isArray(producerIds) || producerIds.some((id) => typeof id !== 'string')) {
      throw new SfuError('producerIds must be a list of strings', { code: 'schema' });
    }
    return this.offer(producerIds);
  }

  tracks(): SfuTrackInfo[] {
    return this.#tracks.map((t) => ({ ...t }));
  }

  /** A producer of the router was closed: if this listener carried it, its track is now silent. */
  handleProducerClose(producerId: string): void {
    if (this.closed) return;
    this.forgetProducer(producerId);
    if (this.#tracks.some((t) => t.producerId === producerId)) this.emit('producerclose', producerId);
  }

  abstract answer(answer: string | SfuAnswer): Promise<void>;

  /** The offer for these producers (a list of strings, as given); it calls {@link setTracks}. */
  protected abstract offer(producerIds: readonly string[]): Promise<O>;

  /** Drops what the driver keeps for a closed producer. Nothing by default. */
  protected forgetProducer(_producerId: string): void {}

  /** The producers the latest offer carries, by m-line. */
  protected setTracks(tracks: readonly SfuTrackInfo[]): void {
    this.#tracks = tracks.map((t) => ({ ...t }));
  }

  /** The connection state as the driver sees it; `failed` and `closed` close the listener. */
  protected setConnectionState(state: SfuConnectionState): void {
    if (this.closed || state === this.#state) return;
    this.#state = state;
    this.emit('connectionstatechange', state);
    if (state === 'failed' || state === 'closed') this.close();
  }
}
