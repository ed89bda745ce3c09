/**
 * The send log: every packet a simulated speaker produced — sent or deliberately dropped — with its
 * RTP seq/timestamp, when it was due, when it went out and the delay added. Ground truth for tests of
 * loss, reordering and jitter on the receive side.
 */
export type DropReason = 'loss' | 'udp-fault';

export interface SendLogEntry {
  name: string;
  userId: string;
  ssrc: number;
  sequence: number;
  timestamp: number;
  /** The frame is the Opus silence frame `F8 FF FE`. */
  silence: boolean;
  /** First packet of a talk-spurt (RTP marker bit). */
  marker: boolean;
  /** When the frame was due, ms on the stand-in's clock (performance.now() at start = 0). */
  dueAt: number;
  /** Extra delay chosen for it (jitter + reordering), ms. */
  delayMs: number;
  /** When it was handed to the UDP socket; undefined when dropped. */
  sentAt: number | undefined;
  dropped: boolean;
  reason: DropReason | undefined;
  /** Number of clients it was sent to. */
  recipients: number;
  /** The Opus frame as the speaker encoded it (before any encryption): what a relay must forward untouched. */
  opus: Uint8Array;
}

export class SendLog {
  readonly #entries: SendLogEntry[] = [];
  /** Entries ever added (the position after the newest), for readers that follow the log. */
  #added = 0;
  /** Oldest entries are discarded beyond about this many (a long CLI run must not grow without bound). */
  readonly limit: number;

  constructor(limit = 200_000) {
    this.limit = limit;
  }

  add(entry: SendLogEntry): void {
    this.#entries.push(entry);
    this.#added++;
    // Trim in chunks of 10% so a long run does not pay an O(n) splice per packet.
    if (this.#entries.length > this.limit * 1.1) this.#entries.splice(0, this.#entries.length - this.limit);
  }

  /**
   * Entries in the order they were logged — a dropped packet when it was produced, a sent one when it
   * went out (so jitter reorders them) — optionally for one ssrc or user id.
   */
  entries(filter?: { ssrc?: number; userId?: string }): SendLogEntry[] {
    return this.#entries.filter((e) => (filter?.ssrc === undefined || e.ssrc === filter.ssrc) && (filter?.userId === undefined || e.userId === filter.userId));
  }

  /**
   * Entries added since position `from` (0 = the start of the run) and the position to pass next
   * time: a reader that follows a long run pays for what is new, not for the whole log each time.
   * Entries already trimmed away are skipped (`missed` says how many).
   */
  since(from: number): { entries: SendLogEntry[]; next: number; missed: number } {
    const first = this.#added - this.#entries.length;
    const start = Math.max(from, first);
    return { entries: this.#entries.slice(start - first), next: this.#added, missed: start - from };
  }

  /** Per-ssrc totals. */
  summary(): { ssrc: number; name: string; produced: number; dropped: number; lossRate: number }[] {
    const by = new Map<number, { ssrc: number; name: string; produced: number; dropped: number; lossRate: number }>();
    for (const e of this.#entries) {
      const row = by.get(e.ssrc) ?? { ssrc: e.ssrc, name: e.name, produced: 0, dropped: 0, lossRate: 0 };
      row.produced++;
      if (e.dropped) row.dropped++;
      row.lossRate = row.dropped / row.produced;
      by.set(e.ssrc, row);
    }
    return [...by.values()];
  }

  clear(): void {
    this.#entries.length = 0;
  }

  /** Entries ever added (what {@link since} counts positions in). */
  get added(): number {
    return this.#added;
  }
}
