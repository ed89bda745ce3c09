/**
 * The ingest's routing table and counters, in one SharedArrayBuffer shared by the caller's thread (the
 * only writer of routes) and the ingest thread (the only reader of routes, the only writer of
 * counters). A route maps an ssrc to a producer slot: which router's socket its RTP goes to, the
 * payload type it must have and the one mediasoup's producer expects.
 *
 * Why shared memory rather than messages: `producer.close()` is synchronous and RTP sent after it
 * returns must already count as an unknown ssrc; a message to the thread could arrive after those
 * datagrams. Writes are rare (a producer or router comes or goes), so every write rebuilds the hash
 * under a sequence lock and the reader retries a lookup that overlapped one. Nothing here allocates
 * per packet. Imported by the ingest thread under Node's type stripping: erasable syntax only.
 */

/** Producers (routes) one Sfu can hold at once. */
export const MAX_PRODUCERS = 4096;
/** Routers (forwarding sockets) one Sfu can hold at once. */
export const MAX_ROUTERS = 4096;
const SLOTS = 8192; // hash slots: a power of two, twice MAX_PRODUCERS
const SLOT_BITS = 13;
const MASK = SLOTS - 1;

/** Indices into `totals`. */
export const T_PACKETS = 0;
export const T_UNKNOWN_SSRC = 1;
export const T_MALFORMED = 2;
export const T_RTCP = 3;
export const T_WRONG_PT = 4;
const TOTALS = 5;

/** Typed views over the shared buffer. */
export interface IngestMemory {
  /** [0]: the sequence lock (odd while the writer rebuilds the hash). */
  control: Int32Array;
  /** Per hash slot: the ssrc. */
  keys: Uint32Array;
  /** Per hash slot: producer slot + 1, 0 = empty. */
  slots: Int32Array;
  /** Per producer slot: the router slot its RTP is forwarded to. */
  router: Int32Array;
  /** Per producer slot: the payload type it must arrive with, -1 = any. */
  expectedPt: Int32Array;
  /** Per producer slot: the payload type mediasoup's producer was created with (written into each packet). */
  outPt: Int32Array;
  /** Per producer slot: packets forwarded (Atomics). */
  packets: Uint32Array;
  /** Per producer slot: bytes forwarded (header included). */
  bytes: Float64Array;
  /** Per producer slot: `Date.now()` of the last packet, 0 = none. */
  lastAt: Float64Array;
  /** Ingest counters (Atomics), indexed by `T_*`. */
  totals: Uint32Array;
  /** [0]: bytes of datagrams that reached a producer. */
  totalBytes: Float64Array;
}

/** Allocates the shared buffer (about 200 kB) and returns its views. */
export function createIngestMemory(): SharedArrayBuffer {
  const bytes = 4 + SLOTS * 8 + MAX_PRODUCERS * (4 * 4 + 8 * 2) + TOTALS * 4 + 4 /* align */ + 8;
  return new SharedArrayBuffer(bytes);
}

export function viewIngestMemory(buffer: SharedArrayBuffer): IngestMemory {
  let offset = 0;
  const take = <T>(make: (b: SharedArrayBuffer, o: number, n: number) => T, n: number, size: number): T => {
    offset = Math.ceil(offset / size) * size;
    const view = make(buffer, offset, n);
    offset += n * size;
    return view;
  };
  const i32 = (b: SharedArrayBuffer, o: number, n: number): Int32Array => new Int32Array(b, o, n);
  const u32 = (b: SharedArrayBuffer, o: number, n: number): Uint32Array => new Uint32Array(b, o, n);
  const f64 = (b: SharedArrayBuffer, o: number, n: number): Float64Array => new Float64Array(b, o, n);
  return {
    control: take(i32, 1, 4),
    keys: take(u32, SLOTS, 4),
    slots: take(i32, SLOTS, 4),
    router: take(i32, MAX_PRODUCERS, 4),
    expectedPt: take(i32, MAX_PRODUCERS, 4),
    outPt: take(i32, MAX_PRODUCERS, 4),
    packets: take(u32, MAX_PRODUCERS, 4),
    totals: take(u32, TOTALS, 4),
    bytes: take(f64, MAX_PRODUCERS, 8),
    lastAt: take(f64, MAX_PRODUCERS, 8),
    totalBytes: take(f64, 1, 8),
  };
}

const hash = (ssrc: number): number => Math.imul(ssrc, 0x9e3779b1) >>> (32 - SLOT_BITS);

/**
 * The reader's lookup (ingest thread): the producer slot routed for `ssrc`, or -1. Also fills `out`
 * with [router slot, expected payload type, outgoing payload type], read in the same locked window.
 */
export function lookupRoute(m: IngestMemory, ssrc: number, out: Int32Array): number {
  for (;;) {
    const before = Atomics.load(m.control, 0);
    if ((before & 1) === 0) {
      let found = -1;
      let i = hash(ssrc);
      for (let n = 0; n < SLOTS; n++) {
        const slot = m.slots[i]!;
        if (slot === 0) break;
        if (m.keys[i] === ssrc) {
          found = slot - 1;
          break;
        }
        i = (i + 1) & MASK;
      }
      if (found >= 0) {
        out[0] = m.router[found]!;
        out[1] = m.expectedPt[found]!;
        out[2] = m.outPt[found]!;
      }
      if (Atomics.load(m.control, 0) === before) return found;
    }
  }
}

export interface RouteInit {
  routerSlot: number;
  /** `undefined`: any payload type. */
  expectedPt: number | undefined;
  outPt: number;
}

export interface RouteCounters {
  packets: number;
  bytes: number;
  lastPacketAt: number | null;
}

/** The writer's side (the caller's thread): routes in, counters out. */
export class IngestTable {
  readonly memory: IngestMemory;
  /** ssrc → producer slot. */
  readonly #routes = new Map<number, number>();
  /** Free producer slots, first in first out (a slot is reused as late as possible). */
  readonly #free: number[] = Array.from({ length: MAX_PRODUCERS }, (_, i) => i);

  constructor(buffer: SharedArrayBuffer) {
    this.memory = viewIngestMemory(buffer);
  }

  get size(): number {
    return this.#routes.size;
  }

  has(ssrc: number): boolean {
    return this.#routes.has(ssrc);
  }

  /** Routes `ssrc`; returns its producer slot. Throws `RangeError` when full, `Error` if routed already. */
  add(ssrc: number, init: RouteInit): number {
    if (this.#routes.has(ssrc)) throw new Error(`ssrc ${ssrc} is routed already`);
    const slot = this.#free.shift();
    if (slot === undefined) throw new RangeError(`the ingest routes at most ${MAX_PRODUCERS} producers`);
    const m = this.memory;
    m.router[slot] = init.routerSlot;
    m.expectedPt[slot] = init.expectedPt ?? -1;
    m.outPt[slot] = init.outPt;
    Atomics.store(m.packets, slot, 0);
    m.bytes[slot] = 0;
    m.lastAt[slot] = 0;
    this.#routes.set(ssrc >>> 0, slot);
    this.#rebuild();
    return slot;
  }

  /** Stops routing `ssrc` (its RTP then counts as unknown). Idempotent. */
  remove(ssrc: number): void {
    const slot = this.#routes.get(ssrc >>> 0);
    if (slot === undefined) return;
    this.#routes.delete(ssrc >>> 0);
    this.#rebuild();
    this.#free.push(slot);
  }

  counters(ssrc: number): RouteCounters | undefined {
    const slot = this.#routes.get(ssrc >>> 0);
    if (slot === undefined) return undefined;
    const m = this.memory;
    const lastAt = m.lastAt[slot]!;
    return { packets: Atomics.load(m.packets, slot), bytes: m.bytes[slot]!, lastPacketAt: lastAt === 0 ? null : lastAt };
  }

  /** Rewrites the hash from `#routes` while the sequence number is odd. */
  #rebuild(): void {
    const m = this.memory;
    Atomics.add(m.control, 0, 1);
    m.slots.fill(0);
    for (const [ssrc, slot] of this.#routes) {
      let i = hash(ssrc);
      while (m.slots[i] !== 0) i = (i + 1) & MASK;
      m.keys[i] = ssrc;
      m.slots[i] = slot + 1;
    }
    Atomics.add(m.control, 0, 1);
  }
}
