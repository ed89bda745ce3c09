/** Latency percentiles over a bounded window of recent samples, per key. */

export interface PercentileSummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
}

/** Nearest-rank percentile of an ascending array (q in 0..1). */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export function summarize(samples: ArrayLike<number>): PercentileSummary {
  const sorted = Float64Array.from(samples).sort();
  return { count: sorted.length, p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), p99: percentile(sorted, 0.99) };
}

/** A ring of the last `capacity` samples for each key; `count` keeps the total ever recorded. */
export class LatencyWindows {
  readonly #capacity: number;
  readonly #windows = new Map<string, { ring: Float64Array; next: number; filled: number; total: number }>();

  constructor(capacity = 1024) {
    this.#capacity = capacity;
  }

  record(key: string, ms: number): void {
    let w = this.#windows.get(key);
    if (!w) {
      w = { ring: new Float64Array(this.#capacity), next: 0, filled: 0, total: 0 };
      this.#windows.set(key, w);
    }
    w.ring[w.next] = ms;
    w.next = (w.next + 1) % this.#capacity;
    w.filled = Math.min(this.#capacity, w.filled + 1);
    w.total += 1;
  }

  /** Percentiles over the window; `count` is the total number of samples ever recorded for the key. */
  snapshot(): Record<string, PercentileSummary> {
    const out: Record<string, PercentileSummary> = {};
    for (const [key, w] of this.#windows) {
      const s = summarize(w.ring.subarray(0, w.filled));
      out[key] = { ...s, count: w.total };
    }
    return out;
  }
}
