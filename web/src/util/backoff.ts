/** Reconnect delays: exponential, jittered, never above `maxMs`. */

export interface BackoffOptions {
  /** Delay before the first retry, in ms. */
  initialMs: number;
  /** Longest delay, in ms; no jitter pushes a delay above it. */
  maxMs: number;
  /** Growth per failed attempt. */
  factor: number;
  /** Random spread of each delay, 0..1 (0.2 = ±20 %). */
  jitter: number;
}

export const defaultBackoffOptions: BackoffOptions = {
  initialMs: 500,
  maxMs: 10_000,
  factor: 2,
  jitter: 0.2,
};

/** The delay before retry number `attempt` (0-based); `random` returns values in [0, 1). */
export function backoffDelay(attempt: number, options: BackoffOptions = defaultBackoffOptions, random: () => number = Math.random): number {
  const n = Number.isFinite(attempt) && attempt > 0 ? Math.floor(attempt) : 0;
  const base = Math.min(options.maxMs, options.initialMs * options.factor ** n);
  const spread = 1 + options.jitter * (random() * 2 - 1);
  return Math.round(Math.max(0, Math.min(options.maxMs, base * spread)));
}
