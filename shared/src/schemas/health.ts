/** The generic `health` intent every agent publishes every N seconds. */
import { z } from 'zod';
import { LifecycleState } from './voice.ts';

export const LatencySummary = z.object({
  count: z.number().int().nonnegative(),
  p50: z.number().nonnegative(),
  p95: z.number().nonnegative(),
  p99: z.number().nonnegative(),
});

export const HealthPayload = z.object({
  agent_id: z.string().min(1),
  kind: z.enum(['access', 'worker', 'hub', 'cli', 'supervisor']),
  state: LifecycleState,
  uptime_s: z.number().nonnegative(),
  queue_depth: z.number().int().nonnegative(),
  cpu_pct: z.number().nonnegative(),
  rss_mb: z.number().nonnegative(),
  heap_mb: z.number().nonnegative(),
  /** Per-intent handling latency in ms. */
  latency_ms: z.record(z.string(), LatencySummary).default({}),
  counters: z.record(z.string(), z.number()).default({}),
  reason: z.string().max(500).optional(),
});

export const healthPayloads = { health: HealthPayload } as const;
