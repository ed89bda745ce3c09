/**
 * What a router's children (producers and listeners) share: their identity within the Sfu, and a
 * close that runs once, frees the driver's side, tells the router, then emits `close`.
 */
import { TypedEmitter, type EventMap } from '@promethean/shared';
import { InvalidStateError } from './errors.ts';

export interface ChildIdentity {
  /** Unique within the Sfu. */
  id: string;
  sessionId: string;
  /** Told once, when the child closes (the router drops it). */
  onClose: () => void;
}

/** `E`: the child's events, `close` among them. */
export abstract class ChildBase<E extends EventMap & { close: [] }> extends TypedEmitter<E> {
  readonly id: string;
  readonly sessionId: string;
  readonly #what: string;
  readonly #onClose: () => void;
  #closed = false;

  /** `what` names the child in errors (`producer`, `listener`). */
  constructor(init: ChildIdentity, what: string) {
    super();
    this.id = init.id;
    this.sessionId = init.sessionId;
    this.#what = what;
    this.#onClose = init.onClose;
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    this.closeLocally(true);
  }

  /**
   * Closes once: `release` frees the driver's side (`false` when that side is already gone, as when
   * the media process closed it with its router).
   */
  closeLocally(release: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    if (release) this.release();
    this.#onClose();
    // TypeScript cannot see that `E['close']` is the empty tuple for every `E` allowed here.
    (this as unknown as TypedEmitter<{ close: [] }>).emit('close');
  }

  /** Frees the driver's side. */
  protected abstract release(): void;

  protected assertOpen(): void {
    if (this.#closed) throw new InvalidStateError(`${this.#what} ${this.id} is closed`);
  }
}
