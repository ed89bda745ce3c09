/** The monotonic clock every frame's `ts_monotonic_ns` comes from. Never the wall clock. */

export interface MonotonicClock {
  /** Nanoseconds from an arbitrary fixed origin; never goes backwards. */
  now(): bigint;
}

/** process.hrtime.bigint(): monotonic, shared by every session in the process. */
export const hrtimeClock: MonotonicClock = { now: () => process.hrtime.bigint() };

/** A clock a test moves by hand. Named so: it replaces time, nothing else. */
export class ManualClock implements MonotonicClock {
  private value: bigint;
  constructor(start = 0n) {
    this.value = start;
  }
  now(): bigint {
    return this.value;
  }
  set(ns: bigint): void {
    if (ns < this.value) throw new RangeError('ManualClock cannot go backwards');
    this.value = ns;
  }
  advanceMs(ms: number): void {
    this.value += BigInt(Math.round(ms * 1e6));
  }
}
