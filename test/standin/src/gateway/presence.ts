/**
 * What bots told the stand-in about their presence: the `presence` of op 2 Identify and every op 3
 * Presence Update, kept in order (bounded) with each user's current presence, for tests to read.
 */
import { EventEmitter } from 'node:events';

export interface StandinActivity {
  name: string;
  /** 0 Playing, 1 Streaming, 2 Listening, 3 Watching, 4 Custom, 5 Competing. */
  type: number;
  /** A custom status's text (type 4), or an activity's detail line. */
  state?: string | null;
  url?: string | null;
}

export interface PresenceRecord {
  userId: string;
  /** Where it came from: the Identify payload or an op 3. */
  source: 'identify' | 'update';
  status: string;
  since: number | null;
  afk: boolean;
  activities: StandinActivity[];
  /** Date.now() when the stand-in received it. */
  at: number;
}

export interface PresenceLogEvents {
  update: [record: PresenceRecord];
}

const STATUSES = new Set(['online', 'dnd', 'idle', 'invisible', 'offline']);

/** Parses a Presence Update payload; undefined when it is not one. */
export function parsePresence(d: unknown): Omit<PresenceRecord, 'userId' | 'source' | 'at'> | undefined {
  if (typeof d !== 'object' || d === null) return undefined;
  const p = d as Record<string, unknown>;
  if (typeof p.status !== 'string' || !STATUSES.has(p.status) || !Array.isArray(p.activities)) return undefined;
  if (p.since !== null && p.since !== undefined && typeof p.since !== 'number') return undefined;
  const activities: StandinActivity[] = [];
  for (const a of p.activities as unknown[]) {
    if (typeof a !== 'object' || a === null) return undefined;
    const x = a as Record<string, unknown>;
    if (typeof x.name !== 'string' || !Number.isInteger(x.type) || (x.type as number) < 0 || (x.type as number) > 5) return undefined;
    activities.push({ name: x.name, type: x.type as number, ...(typeof x.state === 'string' || x.state === null ? { state: x.state } : {}), ...(typeof x.url === 'string' || x.url === null ? { url: x.url } : {}) });
  }
  return { status: p.status, since: (p.since as number | null | undefined) ?? null, afk: p.afk === true, activities };
}

export class PresenceLog extends EventEmitter<PresenceLogEvents> {
  readonly #records: PresenceRecord[] = [];
  readonly #current = new Map<string, PresenceRecord>();
  readonly #max: number;

  constructor(maxRecords = 1000) {
    super();
    this.#max = maxRecords;
  }

  record(record: PresenceRecord): void {
    this.#records.push(record);
    if (this.#records.length > this.#max) this.#records.shift();
    this.#current.set(record.userId, record);
    this.emit('update', record);
  }

  /** Every presence received (oldest first, the last `maxRecords`), optionally for one user. */
  updates(userId?: string): PresenceRecord[] {
    return this.#records.filter((r) => userId === undefined || r.userId === userId);
  }

  /** The user's current presence, if it ever sent one. */
  current(userId: string): PresenceRecord | undefined {
    return this.#current.get(userId);
  }

  /**
   * The text Discord would show for the user's first activity: a custom status's `state`, else the
   * activity's name; undefined when the user has no activity.
   */
  activityText(userId: string): string | undefined {
    const a = this.#current.get(userId)?.activities[0];
    if (!a) return undefined;
    return a.type === 4 ? (a.state ?? a.name) : a.name;
  }
}
