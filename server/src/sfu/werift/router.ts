/** A router (one voice session) as the caller's process sees it: it creates and tracks producers and listeners. */
import { SfuTimeoutError } from '../errors.ts';
import type { CheckedProduceOptions } from '../producer-base.ts';
import { RouterBase, type RouterIdentity } from '../router-base.ts';
import type { Channel } from './channel.ts';
import { WeriftListener } from './listener.ts';
import { WeriftProducer } from './producer.ts';
import type { RequestMap } from './protocol.ts';

export interface WeriftRouterInit extends RouterIdentity {
  channel: Channel;
  /** Every listener of the Sfu by id (notifications are routed through it). */
  listenerRegistry: Map<string, WeriftListener>;
}

/** Closing it tells the media process, which closes its producers and listeners with it. */
export class WeriftRouter extends RouterBase<WeriftProducer, WeriftListener> {
  readonly #channel: Channel;
  readonly #registry: Map<string, WeriftListener>;

  constructor(init: WeriftRouterInit) {
    super(init, false);
    this.#channel = init.channel;
    this.#registry = init.listenerRegistry;
  }

  protected async openProducer(options: CheckedProduceOptions, onClose: () => void): Promise<WeriftProducer> {
    const { id, userId, ssrc, payloadType } = options;
    await this.#create('producer.create', { routerId: this.sessionId, producerId: id, userId, ssrc, payloadType: payloadType ?? null }, () =>
      this.#channel.request('producer.close', { producerId: id }),
    );
    return new WeriftProducer({ ...options, sessionId: this.sessionId, channel: this.#channel, onClose });
  }

  protected async openListener(listenerId: string, onClose: () => void): Promise<WeriftListener> {
    await this.#create('listener.create', { routerId: this.sessionId, listenerId }, () => this.#channel.request('listener.close', { listenerId }));
    const listener: WeriftListener = new WeriftListener({
      id: listenerId,
      sessionId: this.sessionId,
      channel: this.#channel,
      onClose: () => {
        if (this.#registry.get(listenerId) === listener) this.#registry.delete(listenerId);
        onClose();
      },
    });
    this.#registry.set(listenerId, listener);
    return listener;
  }

  protected release(): void {
    if (!this.#channel.closed) void this.#channel.request('router.close', { routerId: this.sessionId }).catch(() => undefined);
  }

  /** Asks the media process to create something; on a timeout it may still do so, so `undo` is sent too. */
  async #create<M extends 'producer.create' | 'listener.create'>(method: M, params: RequestMap[M]['params'], undo: () => Promise<unknown>): Promise<void> {
    try {
      await this.#channel.request(method, params);
    } catch (error) {
      if (error instanceof SfuTimeoutError) void undo().catch(() => undefined);
      throw error;
    }
  }
}
