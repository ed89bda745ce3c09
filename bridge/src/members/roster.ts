/**
 * The last published member list of one voice session, and what changed since: a pure diff, so the
 * publisher can say `join` / `leave` / `update` for one user and `snapshot` otherwise.
 */
import type { VoiceMemberInfo } from './source.ts';

export interface RosterChange {
  joined: string[];
  left: string[];
  updated: string[];
}

export interface RosterUpdate extends RosterChange {
  /** The list to publish: sorted by display name, then user id; at most `max` entries. */
  list: VoiceMemberInfo[];
  /** Members left out because the channel holds more than `max`. */
  truncated: number;
}

function sameMember(a: VoiceMemberInfo, b: VoiceMemberInfo): boolean {
  return (
    a.display_name === b.display_name &&
    a.avatar_url === b.avatar_url &&
    a.bot === b.bot &&
    a.mute === b.mute &&
    a.deaf === b.deaf &&
    a.self_mute === b.self_mute &&
    a.self_deaf === b.self_deaf
  );
}

function byName(a: VoiceMemberInfo, b: VoiceMemberInfo): number {
  const n = a.display_name.localeCompare(b.display_name, 'en', { sensitivity: 'base' });
  return n !== 0 ? n : a.user_id < b.user_id ? -1 : a.user_id > b.user_id ? 1 : 0;
}

export class MemberRoster {
  /** Most members kept and published (bounds the map). */
  readonly max: number;
  #last = new Map<string, VoiceMemberInfo>();

  constructor(max: number) {
    this.max = max;
  }

  get size(): number {
    return this.#last.size;
  }

  /** Replaces the roster with `members` (duplicates by user id keep the first) and returns the diff. */
  update(members: readonly VoiceMemberInfo[]): RosterUpdate {
    const unique = new Map<string, VoiceMemberInfo>();
    for (const m of members) if (!unique.has(m.user_id)) unique.set(m.user_id, m);
    const sorted = [...unique.values()].sort(byName);
    const list = sorted.slice(0, this.max);
    const next = new Map(list.map((m) => [m.user_id, m] as const));
    const joined: string[] = [];
    const updated: string[] = [];
    for (const [id, m] of next) {
      const before = this.#last.get(id);
      if (!before) joined.push(id);
      else if (!sameMember(before, m)) updated.push(id);
    }
    const left = [...this.#last.keys()].filter((id) => !next.has(id));
    this.#last = next;
    return { list, joined, left, updated, truncated: sorted.length - list.length };
  }
}

/** The `change` of a `voice.members` message for a diff: one user's join/leave/update, else a snapshot. */
export function changeOf(diff: RosterChange): { kind: 'snapshot' | 'join' | 'leave' | 'update'; user_id?: string } | undefined {
  const n = diff.joined.length + diff.left.length + diff.updated.length;
  if (n === 0) return undefined;
  if (n > 1) return { kind: 'snapshot' };
  if (diff.joined.length === 1) return { kind: 'join', user_id: diff.joined[0]! };
  if (diff.left.length === 1) return { kind: 'leave', user_id: diff.left[0]! };
  return { kind: 'update', user_id: diff.updated[0]! };
}
