/**
 * Runs the PCM drain when a frame falls due instead of on a fixed interval. A fixed 5 ms interval made
 * every frame wait for the next tick (up to 5 ms, plus the timer's own lateness) after its playout time;
 * this arms one timer for the earliest due frame, so the only wait left is the timer's 1 ms resolution
 * and whatever else the event loop is doing. A slow backstop interval keeps housekeeping (idle decoders)
 * going while nobody speaks.
 *
 * The drain runs in the check phase (setImmediate) after the timer fires, so datagrams already waiting
 * in the socket are read first and a busy loop does not conceal packets that have in fact arrived.
 */
import type { MonotonicClock } from './clock.ts';

export interface PlayoutTimerOptions {
  /** Backstop drain period while no frame is due, in ms. */
  backstopMs: number;
}

export const defaultPlayoutTimerOptions: PlayoutTimerOptions = { backstopMs: 250 };

/** Drains everything due now; returns when the next frame falls due (undefined: nothing buffered). */
export type PlayoutDrain = () => bigint | undefined;

export class PlayoutTimer {
  readonly options: PlayoutTimerOptions;
  /** Drains run (timer, backstop or both). */
  drains = 0;
  /** During a drain: how long after the armed due time it runs (timer resolution + event-loop delay); undefined on a backstop drain. */
  lateNs: bigint | undefined;
  private readonly clock: MonotonicClock;
  private readonly drain: PlayoutDrain;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Due time the armed timer was set for (undefined: none armed). */
  private armedNs: bigint | undefined;
  private readonly backstop: ReturnType<typeof setInterval>;
  private immediate: ReturnType<typeof setImmediate> | undefined;
  private closed = false;

  constructor(clock: MonotonicClock, drain: PlayoutDrain, options: Partial<PlayoutTimerOptions> = {}) {
    this.options = { ...defaultPlayoutTimerOptions, ...options };
    this.clock = clock;
    this.drain = drain;
    this.backstop = setInterval(this.onBackstop, this.options.backstopMs);
  }

  /** A frame falls due at `dueNs`: arms the timer unless it is already armed for that time or earlier. */
  wake(dueNs: bigint): void {
    if (this.closed || (this.armedNs !== undefined && this.armedNs <= dueNs)) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.armedNs = dueNs;
    const waitNs = dueNs - this.clock.now();
    // round up: a timer that fires before the due time would drain nothing and cost a second wake-up
    this.timer = setTimeout(this.onTimer, waitNs > 0n ? Math.ceil(Number(waitNs) / 1e6) : 0);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    clearInterval(this.backstop);
    this.timer = undefined;
    this.armedNs = undefined;
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    if (this.closed) return;
    // libuv measures timers from its cached loop time, which can lag the monotonic clock: a timer may
    // fire a little before the due time. Then wait out the rest instead of draining nothing.
    if (this.armedNs !== undefined) {
      const restNs = this.armedNs - this.clock.now();
      if (restNs > 0n) {
        this.timer = setTimeout(this.onTimer, Math.ceil(Number(restNs) / 1e6));
        return;
      }
    }
    this.onBackstop();
  };

  private readonly onBackstop = (): void => {
    if (this.immediate !== undefined || this.closed) return;
    this.immediate = setImmediate(this.run);
  };

  private readonly run = (): void => {
    this.immediate = undefined;
    if (this.closed) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.lateNs = this.armedNs === undefined ? undefined : this.clock.now() - this.armedNs;
    this.armedNs = undefined;
    this.drains++;
    const next = this.drain();
    if (next !== undefined) this.wake(next);
  };
}
