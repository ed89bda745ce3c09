/**
 * Who consumes decoded PCM: leases from `voice.audio.pcm.demand` (consumer, session, users, ttl). The
 * relay to the SFU needs no decode, so with leases the bridge decodes a speaker's stream only while a
 * live lease covers it. Bounded: at most `maxLeases` leases; a new one beyond that replaces the lease
 * closest to expiry.
 */
import type { PayloadOf } from '@promethean/shared';

export interface PcmDemandOptions {
  /** Most leases held across all sessions. */
  maxLeases: number;
  /** Milliseconds on a monotonic clock. */
  now: () => number;
}

export const defaultPcmDemandOptions: PcmDemandOptions = { maxLeases: 256, now: () => performance.now() };

interface Lease {
  sessionId: string;
  /** undefined = every speaker. */
  users: ReadonlySet<string> | undefined;
  expiresAt: number;
}

export class PcmDemand {
  readonly options: PcmDemandOptions;
  /** `${consumer}\n${session}` → lease. */
  private readonly leases = new Map<string, Lease>();
  /** Leases replaced because the table was full. */
  evicted = 0;

  constructor(options: Partial<PcmDemandOptions> = {}) {
    this.options = { ...defaultPcmDemandOptions, ...options };
  }

  get size(): number {
    return this.leases.size;
  }

  /** Records (or renews, or with `user_ids: []` ends) a consumer's lease. */
  lease(p: PayloadOf<'voice.audio.pcm.demand'>): void {
    const key = `${p.consumer}\n${p.session_id}`;
    if (p.user_ids !== undefined && p.user_ids.length === 0) {
      this.leases.delete(key);
      return;
    }
    const now = this.options.now();
    if (!this.leases.has(key) && this.leases.size >= this.options.maxLeases) {
      this.expire(now);
      if (this.leases.size >= this.options.maxLeases) {
        let soonest: string | undefined;
        let at = Infinity;
        for (const [k, l] of this.leases) if (l.expiresAt < at) [soonest, at] = [k, l.expiresAt];
        if (soonest !== undefined) this.leases.delete(soonest);
        this.evicted++;
      }
    }
    this.leases.set(key, { sessionId: p.session_id, users: p.user_ids ? new Set(p.user_ids) : undefined, expiresAt: now + p.ttl_ms });
  }

  /** Whether some live lease wants `userId`'s PCM in `sessionId`. */
  wants(sessionId: string, userId: string, now: number = this.options.now()): boolean {
    for (const l of this.leases.values()) {
      if (l.sessionId !== sessionId || l.expiresAt <= now) continue;
      if (!l.users || l.users.has(userId)) return true;
    }
    return false;
  }

  /** Drops expired leases. */
  expire(now: number = this.options.now()): void {
    for (const [k, l] of this.leases) if (l.expiresAt <= now) this.leases.delete(k);
  }

  /** Forgets a session's leases (it closed). */
  forgetSession(sessionId: string): void {
    for (const [k, l] of this.leases) if (l.sessionId === sessionId) this.leases.delete(k);
  }
}
