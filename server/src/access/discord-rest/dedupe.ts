/**
 * The retry cache: a `rest.request` retried with the same `corr` or idempotency key is answered from
 * the first result instead of being sent twice; one still in flight is joined, not repeated. Bounded
 * (least recently used entries go first) and expiring. Results with status 0 (no answer came back)
 * are not kept, so a retry after a timeout is performed again (message creation stays safe through
 * Discord's nonce).
 */
import type { RestResponse } from '@promethean/shared';

export interface RetryCacheOptions {
  /** Most results kept. */
  maxEntries: number;
  /** How long a result is kept, ms. */
  ttlMs: number;
  /** Most distinct requests in flight at once. */
  maxInFlight: number;
}

export const defaultRetryCacheOptions: RetryCacheOptions = { maxEntries: 10_000, ttlMs: 10 * 60_000, maxInFlight: 10_000 };

export class RetryCache {
  readonly options: RetryCacheOptions;
  readonly #done = new Map<string, { response: RestResponse; at: number }>();
  readonly #inFlight = new Map<string, Promise<RestResponse>>();
  readonly #now: () => number;

  constructor(options: Partial<RetryCacheOptions> = {}, now: () => number = Date.now) {
    this.options = { ...defaultRetryCacheOptions, ...options };
    this.#now = now;
  }

  get size(): number {
    return this.#done.size;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** A finished or running result for any of `keys`, or undefined. */
  find(keys: readonly string[]): Promise<RestResponse> | undefined {
    const now = this.#now();
    for (const k of keys) {
      const hit = this.#done.get(k);
      if (hit && now - hit.at <= this.options.ttlMs) {
        this.#done.delete(k);
        this.#done.set(k, hit);
        return Promise.resolve(hit.response);
      }
      if (hit) this.#done.delete(k);
      const running = this.#inFlight.get(k);
      if (running) return running;
    }
    return undefined;
  }

  /** Runs `task` under `keys` (call {@link find} first). Throws RangeError when too many are in flight. */
  run(keys: readonly string[], task: () => Promise<RestResponse>): Promise<RestResponse> {
    if (this.#inFlight.size >= this.options.maxInFlight) throw new RangeError(`more than ${this.options.maxInFlight} requests in flight`);
    const p = task().then((response) => {
      for (const k of keys) this.#inFlight.delete(k);
      if (response.status !== 0) {
        const at = this.#now();
        for (const k of keys) this.#done.set(k, { response, at });
        while (this.#done.size > this.options.maxEntries) this.#done.delete(this.#done.keys().next().value as string);
      }
      return response;
    });
    for (const k of keys) this.#inFlight.set(k, p);
    return p;
  }
}
