/**
 * A token bucket per connection, checked on every incoming frame. Written here rather than taken
 * from a rate-limiting package because it runs on the hub's hot path: synchronous, no allocation,
 * no timers (refilled lazily from the clock on each take), one per connection.
 */
export class TokenBucket {
  readonly ratePerS: number;
  readonly burst: number;
  #tokens: number;
  #at: number;
  readonly #now: () => number;

  constructor(ratePerS: number, burst: number, now: () => number = performance.now.bind(performance)) {
    this.ratePerS = ratePerS;
    this.burst = burst;
    this.#tokens = burst;
    this.#now = now;
    this.#at = now();
  }

  /** Takes `n` tokens when there are that many; false (and nothing taken) otherwise. */
  take(n = 1): boolean {
    const now = this.#now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) * this.ratePerS) / 1000);
    this.#at = now;
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }
}

/** Limits for one connection: envelopes (and control messages) and bytes per second, with bursts. */
export interface ConnectionLimits {
  messagesPerS: number;
  messageBurst: number;
  bytesPerS: number;
  byteBurst: number;
}
