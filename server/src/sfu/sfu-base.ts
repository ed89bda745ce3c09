/**
 * What every driver's Sfu shares: its routers by session id and their lookups, the producer and
 * listener ids its routers share, the guard on a closed Sfu, and the end of its life: `close()` (once,
 * routers first, then the driver's media) and the driver's report that its media died (routers closed
 * here, `died` then `close` emitted). A driver supplies how a router is opened, its ingest counters
 * and how its media stops.
 */
import { TypedEmitter } from '@promethean/shared';
import { IdInUseError, InvalidStateError, SfuError } from './errors.ts';
import type { SfuOptions } from './options.ts';
import type { RouterIdentity, SfuIds } from './router-base.ts';
import type { Sfu, SfuDriverName, SfuEvents, SfuIngestAddress, SfuIngestStats, SfuRouter } from './types.ts';

/** What the Sfu needs of its routers. */
interface RouterOfSfu extends SfuRouter {
  closeLocally(release: boolean): void;
}

/**
 * `R`: the driver's routers. `releaseRouters`: whether the Sfu's end frees each router's driver side,
 * or only closes them here because stopping the media takes them down with it.
 */
export abstract class SfuBase<R extends RouterOfSfu> extends TypedEmitter<SfuEvents> implements Sfu {
  abstract readonly driver: SfuDriverName;
  abstract readonly ingest: SfuIngestAddress;
  readonly options: SfuOptions;
  readonly #ids: SfuIds = { producer: new Set(), listener: new Set() };
  readonly #routers = new Map<string, R>();
  readonly #creating = new Set<string>();
  readonly #releaseRouters: boolean;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: SfuOptions, releaseRouters: boolean) {
    super();
    this.options = options;
    this.#releaseRouters = releaseRouters;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async createRouter(sessionId: string): Promise<SfuRouter> {
    this.assertOpen();
    if (typeof sessionId !== 'string' || sessionId.length === 0) throw new SfuError('sessionId must be a non-empty string', { code: 'schema' });
    if (this.#routers.has(sessionId) || this.#creating.has(sessionId)) throw new IdInUseError(`router ${sessionId} exists`);
    this.#creating.add(sessionId);
    let router: R;
    try {
      router = await this.openRouter({
        sessionId,
        ids: this.#ids,
        onClose: () => this.#routers.delete(sessionId),
      });
    } catch (error) {
      this.assertOpen();
      throw error;
    } finally {
      this.#creating.delete(sessionId);
    }
    if (this.#closed) {
      router.close();
      this.assertOpen();
    }
    this.#routers.set(sessionId, router);
    return router;
  }

  router(sessionId: string): SfuRouter | undefined {
    return this.#routers.get(sessionId);
  }

  routers(): SfuRouter[] {
    return [...this.#routers.values()];
  }

  async stats(): Promise<SfuIngestStats> {
    this.assertOpen();
    return this.readStats();
  }

  close(): Promise<void> {
    this.#closing ??= this.#end(undefined);
    return this.#closing;
  }

  /** Opens the driver's router; `init` goes to its {@link RouterBase} init. */
  protected abstract openRouter(init: RouterIdentity): Promise<R>;

  protected abstract readStats(): Promise<SfuIngestStats>;

  /** Stops the media (its routers are closed already); `died` is set when it died on its own. */
  protected abstract stop(died: Error | undefined): Promise<void>;

  /** For the driver: its media died. Closes everything, emits `died` then `close`; a later `close()` waits for the rest to stop. */
  protected mediaDied(error: Error): void {
    if (this.#closed) return;
    // Nobody may be waiting on this: a failure to stop what is left must not become an unhandled rejection.
    this.#closing = this.#end(error).catch(() => undefined);
    this.emit('died', error);
    this.emit('close');
  }

  protected assertOpen(): void {
    if (this.#closed) throw new InvalidStateError('the SFU is closed');
  }

  async #end(died: Error | undefined): Promise<void> {
    this.#closed = true;
    for (const router of [...this.#routers.values()]) router.closeLocally(this.#releaseRouters);
    await this.stop(died);
    if (died === undefined) this.emit('close');
  }
}
