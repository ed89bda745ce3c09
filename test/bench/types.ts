/** Benchmark rows and suites behind `promethean bench`. */

export interface BenchRow {
  /** Suite name (`bus`, `store`, `receive`, …). */
  suite: string;
  /** What was measured, driver included (`publish-1sub hub`, `upsert-10k pglite`). */
  name: string;
  /** Unit of `value` (`msg/s`, `µs/packet`, `ms`). */
  unit: string;
  /** The headline value (a median where repeated). */
  value: number;
  p50?: number;
  p95?: number;
  p99?: number;
  /** The side-by-side comparison measured in the same run. */
  baseline?: { name: string; value: number };
}

export interface BenchContext {
  /** Progress lines for long work (printed to stderr). */
  log(message: string): void;
  /** Short runs for smoke checks (`--quick`). */
  quick: boolean;
  /** Length of a timed suite's run in minutes (`--minutes`; the soak's default is 10). */
  minutes?: number;
}

export interface BenchSuite {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<BenchRow[]>;
}
