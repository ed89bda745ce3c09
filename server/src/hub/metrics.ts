/** Hub counters, exposed by `hub.metrics()` and `GET /metrics`. */
import type { ErrorCode } from '@promethean/shared';

export interface ConnectionMetrics {
  id: number;
  role: string;
  tenant: string | null;
  subscriptions: number;
  /** Messages waiting in the hub's queues for this subscriber (media + control). */
  queue_depth: number;
  /** Bytes the socket still has to write. */
  buffered_bytes: number;
  delivered: number;
  dropped: number;
}

export interface HubMetrics {
  uptime_s: number;
  rss_bytes: number;
  heap_used_bytes: number;
  connections: number;
  /** Envelopes accepted (validated and routed). */
  published: number;
  /** Messages handed to subscriber sockets. */
  delivered: number;
  /** Media frames dropped (drop-oldest) because a subscriber fell behind. */
  dropped: number;
  /** Subscribers disconnected (4008) because their control queue filled. */
  slow_disconnects: number;
  /** Upgrades refused with 401. */
  unauthenticated: number;
  /** Connections dropped because they did not answer a ping in time. */
  ping_timeouts: number;
  /** Largest queue depth any subscriber reached. */
  max_queue_depth: number;
  /** Throws from the onSubscribe observer (caught; the subscription stands). */
  observer_errors: number;
  /** Envelopes withheld from sessions limited to another guild or channel. */
  out_of_scope: number;
  /** Frames refused because a session's connection went over its rate. */
  rate_limited: number;
  /** Connections refused because their principal already held the most it may. */
  connection_cap: number;
  /** Rejected frames, by error code. */
  errors: Partial<Record<ErrorCode, number>>;
  per_connection: ConnectionMetrics[];
}

/** The mutable counters the hub updates on its hot path. */
export class HubCounters {
  published = 0;
  delivered = 0;
  dropped = 0;
  slowDisconnects = 0;
  unauthenticated = 0;
  pingTimeouts = 0;
  maxQueueDepth = 0;
  observerErrors = 0;
  outOfScope = 0;
  rateLimited = 0;
  connectionCap = 0;
  readonly errors: Partial<Record<ErrorCode, number>> = {};

  error(code: ErrorCode): void {
    this.errors[code] = (this.errors[code] ?? 0) + 1;
  }

  errorTotal(): number {
    let n = 0;
    for (const v of Object.values(this.errors)) n += v ?? 0;
    return n;
  }
}
