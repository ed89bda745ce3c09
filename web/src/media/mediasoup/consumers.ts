/**
 * Which consumers a mediasoup offer asks for, pure: the offer lists every consumer the connection
 * should carry (server-side ids); the page consumes those it does not have yet, in the offer's order,
 * and closes its own whose id is no longer listed. A consumer's mid names the speaker, as a
 * transceiver's does on the SDP path.
 */
import type { OfferedTrack, SpeakerTrack } from '../mids.ts';
import type { MediasoupConsumerInfo } from '../offer.ts';

export interface ConsumerPlan {
  /** Offered consumers not consumed yet, in the offer's order. */
  consume: MediasoupConsumerInfo[];
  /** Ids of local consumers the offer no longer lists. */
  close: string[];
}

export function planConsumers(local: Iterable<string>, offered: readonly MediasoupConsumerInfo[]): ConsumerPlan {
  const have = new Set(local);
  const listed = new Set<string>();
  const consume: MediasoupConsumerInfo[] = [];
  for (const c of offered) {
    if (listed.has(c.id)) continue;
    listed.add(c.id);
    if (!have.has(c.id)) consume.push(c);
  }
  return { consume, close: [...have].filter((id) => !listed.has(id)) };
}

/** What the mapping needs from a local consumer. */
export interface ConsumerView<T = unknown> {
  /** The mid the server gave it (`rtpParameters.mid`). */
  mid: string;
  closed: boolean;
  track: T;
}

/**
 * The speakers' tracks: each offered track's mid matched to an open local consumer with that mid.
 * One track per speaker — the first offered wins if the SFU lists a user twice.
 */
export function mapConsumerTracks<T>(consumers: Iterable<ConsumerView<T>>, offered: readonly OfferedTrack[]): SpeakerTrack<T>[] {
  const byMid = new Map<string, ConsumerView<T>>();
  for (const c of consumers) if (!c.closed) byMid.set(c.mid, c);
  const out: SpeakerTrack<T>[] = [];
  const users = new Set<string>();
  for (const o of offered) {
    const c = byMid.get(o.mid);
    if (!c || users.has(o.user_id)) continue;
    users.add(o.user_id);
    out.push({ user_id: o.user_id, mid: o.mid, producer_id: o.producer_id, track: c.track });
  }
  return out;
}
