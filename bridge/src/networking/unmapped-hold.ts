/**
 * Packets whose ssrc no Speaking op 5 has mapped to a user yet. Discord sends op 5 on the WebSocket
 * and the first RTP on UDP; they race, and a speaker's first packets often arrive first. Instead of
 * dropping them (clipping the first syllable of every speaker's first talk-spurt) they wait here,
 * bounded per ssrc and in total and aged by their monotonic arrival time, until the mapping appears;
 * then they are handed back in arrival order. What ages out or is pushed out is dropped and counted.
 *
 * Allocation-light: slots are reused from a pool, removal compacts in place, nothing here blocks.
 * Pure: the caller passes the clock (`nowNs`).
 */

export interface UnmappedHoldOptions {
  /** A held packet older than this (since its arrival) is dropped and counted, in ms. */
  maxAgeMs: number;
  /** Most packets held for one ssrc (10 ≈ 200 ms of 20 ms frames); one more drops that ssrc's oldest. */
  perSsrc: number;
  /** Most packets held across every ssrc; one more drops the oldest of all. */
  total: number;
}

export const defaultUnmappedHoldOptions: UnmappedHoldOptions = { maxAgeMs: 200, perSsrc: 10, total: 256 };

/** One held packet: transport encryption removed, end-to-end (DAVE) layer still on. */
export interface HeldPacket {
  ssrc: number;
  seq: number;
  timestamp: number;
  /** Owned by the hold until handed back (the decryptor allocates it per packet). */
  payload: Uint8Array;
  arrivalNs: bigint;
}

export interface UnmappedHoldCounters {
  /** Packets that entered the hold. */
  held: number;
  /** Packets handed back once their ssrc was mapped. */
  released: number;
  /** Dropped because they waited longer than `maxAgeMs`. */
  expired: number;
  /** Dropped to stay within `perSsrc` or `total`. */
  overflowed: number;
  /** Dropped by {@link UnmappedHold.clear} (the session ended). */
  discarded: number;
}

const EMPTY = new Uint8Array(0);

export class UnmappedHold {
  readonly options: UnmappedHoldOptions;
  readonly counters: UnmappedHoldCounters = { held: 0, released: 0, expired: 0, overflowed: 0, discarded: 0 };
  /** Told how many packets were just dropped (aged out, pushed out or cleared). */
  onDrop: ((count: number) => void) | undefined;
  /** Held packets in arrival order (oldest first). */
  private readonly queue: HeldPacket[] = [];
  /** Free slots for reuse. */
  private readonly pool: HeldPacket[] = [];
  /** One ssrc's packets while they are handed back (the hand-back may not re-enter the queue's walk). */
  private readonly out: HeldPacket[] = [];
  /** ssrc → packets held. */
  private readonly bySsrc = new Map<number, number>();
  private readonly maxAgeNs: bigint;

  constructor(options: Partial<UnmappedHoldOptions> = {}) {
    this.options = { ...defaultUnmappedHoldOptions, ...options };
    const { maxAgeMs, perSsrc, total } = this.options;
    if (!(maxAgeMs >= 0)) throw new RangeError(`maxAgeMs must be ≥ 0, not ${maxAgeMs}`);
    if (!Number.isInteger(perSsrc) || perSsrc < 0) throw new RangeError(`perSsrc must be an integer ≥ 0, not ${perSsrc}`);
    if (!Number.isInteger(total) || total < 0) throw new RangeError(`total must be an integer ≥ 0, not ${total}`);
    this.maxAgeNs = BigInt(Math.round(maxAgeMs * 1e6));
  }

  /** Packets held now. */
  get size(): number {
    return this.queue.length;
  }

  /** Whether packets of `ssrc` are held. */
  has(ssrc: number): boolean {
    return this.bySsrc.has(ssrc);
  }

  /** The ssrcs with packets held (a copy). */
  ssrcs(): number[] {
    return [...this.bySsrc.keys()];
  }

  /** Holds one packet (after dropping what aged out by its arrival). Returns false when the bounds are 0. */
  hold(ssrc: number, seq: number, timestamp: number, payload: Uint8Array, arrivalNs: bigint): boolean {
    const { perSsrc, total } = this.options;
    if (perSsrc === 0 || total === 0) {
      this.drop(1, 'overflowed');
      return false;
    }
    this.expire(arrivalNs);
    const mine = this.bySsrc.get(ssrc) ?? 0;
    if (mine >= perSsrc) {
      this.removeOldestOf(ssrc);
      this.drop(1, 'overflowed');
    } else if (this.queue.length >= total) {
      this.removeAt(0);
      this.drop(1, 'overflowed');
    }
    const slot = this.pool.pop() ?? { ssrc: 0, seq: 0, timestamp: 0, payload: EMPTY, arrivalNs: 0n };
    slot.ssrc = ssrc;
    slot.seq = seq;
    slot.timestamp = timestamp;
    slot.payload = payload;
    slot.arrivalNs = arrivalNs;
    this.queue.push(slot);
    this.bySsrc.set(ssrc, (this.bySsrc.get(ssrc) ?? 0) + 1);
    this.counters.held++;
    return true;
  }

  /** Drops every packet that arrived more than `maxAgeMs` before `nowNs`. Returns how many. */
  expire(nowNs: bigint): number {
    const q = this.queue;
    let n = 0;
    while (n < q.length && nowNs - q[n]!.arrivalNs > this.maxAgeNs) n++;
    if (n === 0) return 0;
    for (let i = 0; i < n; i++) this.uncount(q[i]!.ssrc);
    for (let i = 0; i < n; i++) this.free(q[i]!);
    q.copyWithin(0, n);
    q.length -= n;
    this.drop(n, 'expired');
    return n;
  }

  /**
   * Hands back `ssrc`'s packets that are not too old by `nowNs`, oldest first, and forgets them.
   * `deliver` must not throw. Returns how many were handed back.
   */
  release(ssrc: number, nowNs: bigint, deliver: (packet: HeldPacket) => void): number {
    this.expire(nowNs);
    if (!this.bySsrc.has(ssrc)) return 0;
    const q = this.queue;
    const out = this.out;
    let w = 0;
    for (let r = 0; r < q.length; r++) {
      const p = q[r]!;
      if (p.ssrc === ssrc) out.push(p);
      else q[w++] = p;
    }
    q.length = w;
    this.bySsrc.delete(ssrc);
    this.counters.released += out.length;
    const n = out.length;
    try {
      for (let i = 0; i < n; i++) deliver(out[i]!);
    } finally {
      for (let i = 0; i < n; i++) this.free(out[i]!);
      out.length = 0;
    }
    return n;
  }

  /** Drops everything held (counted as discarded). */
  clear(): void {
    const n = this.queue.length;
    for (const p of this.queue) this.free(p);
    this.queue.length = 0;
    this.bySsrc.clear();
    if (n > 0) this.drop(n, 'discarded');
  }

  private removeOldestOf(ssrc: number): void {
    const i = this.queue.findIndex((p) => p.ssrc === ssrc);
    if (i >= 0) this.removeAt(i);
  }

  private removeAt(i: number): void {
    const q = this.queue;
    const p = q[i]!;
    q.copyWithin(i, i + 1);
    q.length--;
    this.uncount(p.ssrc);
    this.free(p);
  }

  private uncount(ssrc: number): void {
    const left = (this.bySsrc.get(ssrc) ?? 1) - 1;
    if (left > 0) this.bySsrc.set(ssrc, left);
    else this.bySsrc.delete(ssrc);
  }

  private free(p: HeldPacket): void {
    p.payload = EMPTY;
    if (this.pool.length < this.options.total) this.pool.push(p);
  }

  private drop(n: number, why: 'expired' | 'overflowed' | 'discarded'): void {
    this.counters[why] += n;
    this.onDrop?.(n);
  }
}
