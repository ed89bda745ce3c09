/**
 * The DSP offload scheduler's core (pure logic, no I/O): which runner holds each stream's DSP job.
 * Browsers advertise capacity; each stream is leased to one runner at a time, renewed by heartbeat,
 * moved when its runner leaves, stops renewing or falls behind, and held by the server's own worker
 * (`SERVER`) when no browser can take it. Results are accepted by segment index, so a handover never
 * duplicates nor drops a segment: a new holder continues at the next index the old one had not
 * published, and a result from a runner that no longer holds the stream is refused.
 *
 * Wiring (the intents browsers use to advertise, renew and publish, and the `dsp:` grant check) is
 * the caller's; `canHold` is where the grant check plugs in.
 */
import { PrometheanError } from '@promethean/shared';

/** The server's own worker: holds every stream no browser holds. */
export const SERVER = 'server';

export interface DspRunnerInfo {
  /** Unique runner id (a console session's connection). */
  id: string;
  /** `wasm`, `webgpu`, …: reported, used for ties. */
  backend: string;
  threads: number;
  /** Streams it offers to run at once (from its measured score). */
  capacity: number;
  /** Its measured speed score: the higher, the earlier it is chosen. */
  score: number;
}

export interface LeaseSchedulerOptions {
  /** A lease not renewed for this long expires (its streams move). */
  leaseMs: number;
  /** A runner reporting a lag above this loses its streams. */
  maxLagMs: number;
  maxRunners: number;
  maxStreams: number;
  /** Whether `runner` may run (and publish for) `stream`: the `dsp:` grant check. */
  canHold: (runner: string, stream: string) => boolean;
  now: () => number;
}

export const defaultLeaseSchedulerOptions: LeaseSchedulerOptions = {
  leaseMs: 6000,
  maxLagMs: 2000,
  maxRunners: 256,
  maxStreams: 1024,
  canHold: () => true,
  now: () => performance.now(),
};

/** A stream moving between runners; `nextIndex` is the first segment index the new holder publishes. */
export interface Handover {
  stream: string;
  from: string;
  to: string;
  nextIndex: number;
}

export type AcceptResult = 'accepted' | 'duplicate' | 'not_holder' | 'gap';

interface Runner extends DspRunnerInfo {
  renewedAt: number;
}

interface Stream {
  holder: string;
  /** Next segment index to accept. */
  nextIndex: number;
}

export class DspLeaseScheduler {
  readonly options: LeaseSchedulerOptions;
  readonly #runners = new Map<string, Runner>();
  readonly #streams = new Map<string, Stream>();

  constructor(options: Partial<LeaseSchedulerOptions> = {}) {
    this.options = { ...defaultLeaseSchedulerOptions, ...options };
  }

  /** Registers or updates a runner's capacity (and renews its lease). */
  advertise(info: DspRunnerInfo): Handover[] {
    if (info.id === SERVER) throw new PrometheanError('schema', `runner id "${SERVER}" is reserved`, { path: 'id' });
    if (!(info.capacity >= 0) || !Number.isFinite(info.score)) throw new PrometheanError('schema', 'capacity and score must be finite, capacity ≥ 0', { path: 'capacity' });
    if (!this.#runners.has(info.id) && this.#runners.size >= this.options.maxRunners) throw new PrometheanError('oversize', `more than ${this.options.maxRunners} DSP runners`);
    this.#runners.set(info.id, { ...info, capacity: Math.floor(info.capacity), renewedAt: this.options.now() });
    return this.rebalance();
  }

  /** Renews a runner's leases; `lagMs` is how far behind real time it runs. */
  heartbeat(id: string, lagMs = 0): Handover[] {
    const r = this.#runners.get(id);
    if (!r) throw new PrometheanError('not_found', `unknown DSP runner "${id}"`);
    r.renewedAt = this.options.now();
    if (lagMs > this.options.maxLagMs) return this.#evict(id, true);
    return [];
  }

  /** A runner left: its streams move. */
  leave(id: string): Handover[] {
    return this.#evict(id, false);
  }

  /**
   * A stream appeared (a speaker's PCM started); it is placed at once. `nextIndex` is where its
   * segment indices stand (0 for a new stream; more when the server restarted under a running worker).
   */
  addStream(stream: string, nextIndex = 0): Handover[] {
    if (this.#streams.has(stream)) return [];
    if (this.#streams.size >= this.options.maxStreams) throw new PrometheanError('oversize', `more than ${this.options.maxStreams} DSP streams`);
    if (!(Number.isSafeInteger(nextIndex) && nextIndex >= 0)) throw new PrometheanError('schema', `nextIndex ${nextIndex} is not a non-negative integer`, { path: 'next_index' });
    this.#streams.set(stream, { holder: SERVER, nextIndex });
    return this.rebalance();
  }

  /** Streams known now. */
  get streams(): number {
    return this.#streams.size;
  }

  /** Whether `id` is a registered runner. */
  hasRunner(id: string): boolean {
    return this.#runners.has(id);
  }

  removeStream(stream: string): void {
    this.#streams.delete(stream);
  }

  holder(stream: string): string | undefined {
    return this.#streams.get(stream)?.holder;
  }

  nextIndex(stream: string): number | undefined {
    return this.#streams.get(stream)?.nextIndex;
  }

  /**
   * A runner publishes segment `index` of `stream`: accepted only from the holder and only as the
   * next index (an index already accepted is a duplicate, e.g. a resend after a handover).
   */
  accept(stream: string, runner: string, index: number): AcceptResult {
    const s = this.#streams.get(stream);
    if (!s || s.holder !== runner || !this.options.canHold(runner, stream)) return index < (s?.nextIndex ?? 0) ? 'duplicate' : 'not_holder';
    if (index < s.nextIndex) return 'duplicate';
    if (index > s.nextIndex) return 'gap';
    s.nextIndex++;
    return 'accepted';
  }

  /**
   * An announcement of the segment speech is in now (not yet finished): allowed from the holder for
   * the next index only, and it does not advance the sequence (the finished segment will).
   */
  acceptOpen(stream: string, runner: string, index: number): AcceptResult {
    const s = this.#streams.get(stream);
    if (!s || s.holder !== runner || !this.options.canHold(runner, stream)) return index < (s?.nextIndex ?? 0) ? 'duplicate' : 'not_holder';
    if (index < s.nextIndex) return 'duplicate';
    return index > s.nextIndex ? 'gap' : 'accepted';
  }

  /** Expires leases not renewed in time, then places every stream (call every second or so). */
  tick(): Handover[] {
    const now = this.options.now();
    const moves: Handover[] = [];
    for (const r of [...this.#runners.values()]) if (now - r.renewedAt > this.options.leaseMs) moves.push(...this.#evict(r.id, false));
    return [...moves, ...this.rebalance()];
  }

  /** Moves streams the server holds to browsers with spare capacity (best score first). */
  rebalance(): Handover[] {
    const load = new Map<string, number>();
    for (const s of this.#streams.values()) if (s.holder !== SERVER) load.set(s.holder, (load.get(s.holder) ?? 0) + 1);
    const runners = [...this.#runners.values()].sort((a, b) => b.score - a.score || a.id.localeCompare(b.id));
    const moves: Handover[] = [];
    for (const [stream, s] of this.#streams) {
      if (s.holder !== SERVER) continue;
      const to = runners.find((r) => (load.get(r.id) ?? 0) < r.capacity && this.options.canHold(r.id, stream));
      if (!to) continue;
      load.set(to.id, (load.get(to.id) ?? 0) + 1);
      moves.push({ stream, from: SERVER, to: to.id, nextIndex: s.nextIndex });
      s.holder = to.id;
    }
    return moves;
  }

  #evict(id: string, keepRunner: boolean): Handover[] {
    const moves: Handover[] = [];
    for (const [stream, s] of this.#streams) {
      if (s.holder !== id) continue;
      s.holder = SERVER;
      moves.push({ stream, from: id, to: SERVER, nextIndex: s.nextIndex });
    }
    if (!keepRunner) this.#runners.delete(id);
    else {
      // A runner that fell behind keeps its registration but takes nothing until it reports again.
      const r = this.#runners.get(id);
      if (r) r.capacity = 0;
    }
    const placed = this.rebalance();
    // Collapse server→browser moves of streams just taken from `id` into one move each.
    return [...moves.filter((m) => !placed.some((p) => p.stream === m.stream)), ...placed.map((p) => ({ ...p, from: moves.find((m) => m.stream === p.stream)?.from ?? p.from }))];
  }
}
