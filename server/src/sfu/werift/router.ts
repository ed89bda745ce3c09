/** A router (one voice session) as the caller's process sees it: it creates and tracks producers and listeners. */
import { checkProduceOptions } from '../producer-base.ts';
import { randomUUID } from 'node:crypto';
import { TypedEmitter } from '@promethean/shared';
import { IdInUseError, InvalidStateError, SfuError, SfuTimeoutError } from '../errors.ts';
import type { ProduceOptions, SfuListener, SfuProducer, SfuRouter, SfuRouterEvents } from '../types.ts';
import type { Channel } from './channel.ts';
import { WeriftListener } from './listener.ts';
import { WeriftProducer } from './producer.ts';

export interface WeriftRouterInit {
  sessionId: string;
  channel: Channel;
  /** Every listener of the Sfu by id (notifications are routed through it). */
  listenerRegistry: Map<string, WeriftListener>;
  onClose: (router: WeriftRouter) => void;
}


export class WeriftRouter extends TypedEmitter<SfuRouterEvents> implements SfuRouter {
  readonly sessionId: string;
  readonly #channel: Channel;
  readonly #registry: Map<string, WeriftListener>;
  readonly #onClose: (router: WeriftRouter) => void;
  readonly #producers = new Map<string, WeriftProducer>();
  readonly #listeners = new Map<string, WeriftListener>();
  /** Ids of producers and listeners being created (a second request for one is refused at once). */
  readonly #creating = new Set<string>();
  #closed = false;

  constructor(init: WeriftRouterInit) {
    super();
    this.sessionId = init.sessionId;
    this.#channel = init.channel;
    this.#registry = init.listenerRegistry;
    this.#onClose = init.onClose;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async produce(options: ProduceOptions): Promise<SfuProducer> {
    this.#assertOpen();
    const { id, userId, ssrc, payloadType } = checkProduceOptions(options);
    this.#claim(id, this.#producers.has(id), 'producer');
    try {
      await this.#channel.request('producer.create', {
        routerId: this.sessionId,
        producerId: id,
        userId,
        ssrc,
        payloadType: payloadType ?? null,
      });
    } catch (error) {
      // Timed out: the media process may still create it; make sure it does not keep the ssrc.
      if (error instanceof SfuTimeoutError) void this.#channel.request('producer.close', { producerId: id }).catch(() => undefined);
      throw error;
    } finally {
      this.#creating.delete(id);
    }
    this.#assertOpen();
    const producer = new WeriftProducer({
      id,
      sessionId: this.sessionId,
      userId,
      ssrc,
      payloadType,
      channel: this.#channel,
      onClose: (p) => this.#producerClosed(p),
    });
    this.#producers.set(id, producer);
    return producer;
  }

  producer(producerId: string): SfuProducer | undefined {
    return this.#producers.get(producerId);
  }

  producers(): SfuProducer[] {
    return [...this.#producers.values()];
  }

  async createListener(listenerId: string = randomUUID()): Promise<SfuListener> {
    this.#assertOpen();
    this.#claim(listenerId, this.#listeners.has(listenerId) || this.#registry.has(listenerId), 'listener');
    try {
      await this.#channel.request('listener.create', { routerId: this.sessionId, listenerId });
    } catch (error) {
      if (error instanceof SfuTimeoutError) void this.#channel.request('listener.close', { listenerId }).catch(() => undefined);
      throw error;
    } finally {
      this.#creating.delete(listenerId);
    }
    this.#assertOpen();
    const listener = new WeriftListener({
      id: listenerId,
      sessionId: this.sessionId,
      channel: this.#channel,
      onClose: (l) => {
        this.#listeners.delete(l.id);
        if (this.#registry.get(l.id) === l) this.#registry.delete(l.id);
      },
    });
    this.#listeners.set(listenerId, listener);
    this.#registry.set(listenerId, listener);
    return listener;
  }

  listener(listenerId: string): SfuListener | undefined {
    return this.#listeners.get(listenerId);
  }

  listeners(): SfuListener[] {
    return [...this.#listeners.values()];
  }

  close(): void {
    this.closeLocally(true);
  }

  /** Closes listeners, then producers, then this router; `tellMedia: false` when the media process is gone or closing everything. */
  closeLocally(tellMedia: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    if (tellMedia && !this.#channel.closed) void this.#channel.request('router.close', { routerId: this.sessionId }).catch(() => undefined);
    for (const listener of [...this.#listeners.values()]) listener.closeLocally(false);
    for (const producer of [...this.#producers.values()]) producer.closeLocally(false);
    this.#onClose(this);
    this.emit('close');
  }

  #producerClosed(producer: SfuProducer): void {
    this.#producers.delete(producer.id);
    if (this.#closed) return;
    for (const listener of this.#listeners.values()) listener.handleProducerClose(producer.id);
  }

  #claim(id: string, taken: boolean, what: string): void {
    if (typeof id !== 'string' || id.length === 0) throw new SfuError(`${what} id must be a non-empty string`, { code: 'schema' });
    if (taken || this.#creating.has(id)) throw new IdInUseError(`${what} ${id} exists in session ${this.sessionId}`);
    this.#creating.add(id);
  }

  #assertOpen(): void {
    if (this.#closed) throw new InvalidStateError(`router ${this.sessionId} is closed`);
  }
}
