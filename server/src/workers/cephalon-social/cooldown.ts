/** Per-channel cooldown: after a reply is taken on, the channel waits `seconds` for the next one. Bounded. */
export class ChannelCooldown {
  readonly maxChannels: number;
  /** channel key → until (ms); insertion order = oldest first. */
  readonly #until = new Map<string, number>();

  constructor(maxChannels = 10_000) {
    this.maxChannels = maxChannels;
  }

  get size(): number {
    return this.#until.size;
  }

  /** True (and the cooldown starts) when the channel is free at `nowMs`; false while it cools down. */
  tryTake(key: string, nowMs: number, seconds: number): boolean {
    const until = this.#until.get(key);
    if (until !== undefined && nowMs < until) return false;
    this.#until.delete(key);
    if (seconds <= 0) return true;
    this.#until.set(key, nowMs + seconds * 1000);
    // Over the bound: forget the entry taken longest ago.
    if (this.#until.size > this.maxChannels) this.#until.delete(this.#until.keys().next().value as string);
    return true;
  }
}
