/** Discord-style snowflakes (ms since the Discord epoch << 22 | counter), deterministic per generator. */
const DISCORD_EPOCH = 1_420_070_400_000n;

export class SnowflakeGenerator {
  #counter = 0n;
  readonly #base: bigint;
  /** `baseTimeMs` fixes the time part so ids are reproducible across runs. */
  constructor(baseTimeMs = 1_767_225_600_000) {
    this.#base = (BigInt(baseTimeMs) - DISCORD_EPOCH) << 22n;
  }
  next(): string {
    this.#counter += 1n;
    return (this.#base + (this.#counter << 12n)).toString();
  }
}
