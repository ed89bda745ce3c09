/**
 * What every driver's router shares: the session's producers and listeners by id and their lookups,
 * the claim of an id (checked, and unique across the Sfu from the moment it is asked for until its
 * object closes), and a close that runs once and cascades: listeners, then producers, then the
 * driver's side. A driver supplies how a producer or listener is opened and what its own close frees.
 */
import { randomUUID } from 'node:crypto';
import { TypedEmitter } from '@promethean/shared';
import { IdInUseError, InvalidStateError, SfuError } from './errors.ts';
import type { ListenerBase } from './listener-base.ts';
import { checkProduceOptions, type CheckedProduceOptions, type ProducerBase } from './producer-base.ts';
import type { ProduceOptions, SfuListener, SfuProducer, SfuRouter, SfuRouterEvents } from './types.ts';

/** The producer and listener ids of one Sfu, open or being created; every router of the Sfu shares it. */
export interface SfuIds {
  producer: Set<string>;
  listener: Set<string>;
}

export interface RouterIdentity {
  sessionId: string;
  ids: SfuIds;
  /** Told once, when the router closes (the Sfu drops it). */
  onClose: () => void;
}

/**
 * `P`, `L`: the driver's producers and listeners. `releaseChildren`: whether closing the router frees
 * each child's driver side, or only closes them here because the driver's own router close (in the
 * media process) takes them down with it.
 */
export abstract class RouterBase<P extends ProducerBase, L extends ListenerBase> extends TypedEmitter<SfuRouterEvents> implements SfuRouter {
  readonly sessionId: string;
  readonly #ids: SfuIds;
  readonly #onClose: () => void;
  readonly #releaseChildren: boolean;
  readonly #producers = new Map<string, P>();
  readonly #listeners = new Map<string, L>();
  #closed = false;

  constructor(init: RouterIdentity, releaseChildren: boolean) {
    super();
    this.sessionId = init.sessionId;
    this.#ids = init.ids;
    this.#onClose = init.onClose;
    this.#releaseChildren = releaseChildren;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async produce(options: ProduceOptions): Promise<SfuProducer> {
    this.assertOpen();
    const checked = checkProduceOptions(options);
    return this.#open('producer', checked.id, this.#producers, (onClose) => this.openProducer(checked, onClose));
  }

  producer(producerId: string): SfuProducer | undefined {
    return this.#producers.get(producerId);
  }

  producers(): SfuProducer[] {
    return [...this.#producers.values()];
  }

  async createListener(listenerId: string = randomUUID()): Promise<SfuListener> {
    this.assertOpen();
    return this.#open('listener', listenerId, this.#listeners, (onClose) => this.openListener(listenerId, onClose));
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

  /** Closes listeners, then producers, then (when `release`) the driver's side. Idempotent. */
  closeLocally(release: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const listener of [...this.#listeners.values()]) listener.closeLocally(this.#releaseChildren);
    for (const producer of [...this.#producers.values()]) producer.closeLocally(this.#releaseChildren);
    if (release) this.release();
    this.#onClose();
    this.emit('close');
  }

  /** Opens the driver's producer; `onClose` goes to its {@link ProducerBase} init. */
  protected abstract openProducer(options: CheckedProduceOptions, onClose: () => void): Promise<P>;

  /** Opens the driver's listener; `onClose` goes to its {@link ListenerBase} init. */
  protected abstract openListener(listenerId: string, onClose: () => void): Promise<L>;

  /** Frees the driver's side of the router; its producers and listeners are closed already. */
  protected abstract release(): void;

  /** The open producers, by id. */
  protected producerMap(): ReadonlyMap<string, P> {
    return this.#producers;
  }

  protected assertOpen(): void {
    if (this.#closed) throw new InvalidStateError(`router ${this.sessionId} is closed`);
  }

  /**
   * Claims `id` across the Sfu, opens the object, and keeps it in `map` until it closes. A failure
   * frees the id; if the router closed meanwhile, the new object is closed and the call rejects with
   * `InvalidStateError`.
   */
  async #open<T extends P | L>(what: keyof SfuIds, id: string, map: Map<string, T>, open: (onClose: () => void) => Promise<T>): Promise<T> {
    if (typeof id !== 'string' || id.length === 0) throw new SfuError(`${what} id must be a non-empty string`, { code: 'schema' });
    const ids = this.#ids[what];
    if (ids.has(id)) throw new IdInUseError(`${what} ${id} exists`);
    ids.add(id);
    const onClose = (): void => {
      map.delete(id);
      ids.delete(id);
      if (what === 'producer' && !this.#closed) for (const listener of this.#listeners.values()) listener.handleProducerClose(id);
    };
    let child: T;
    try {
      child = await open(onClose);
    } catch (error) {
      ids.delete(id);
      this.assertOpen();
      throw error;
    }
    if (this.#closed) {
      child.close();
      this.assertOpen();
    }
    map.set(id, child);
    return child;
  }
}
