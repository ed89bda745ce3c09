import { describe, expect, it } from 'vitest';
import type { MediasoupConsumerInfo } from '../offer.ts';
import { mapConsumerTracks, planConsumers, type ConsumerView } from './consumers.ts';

const offered = (id: string, mid: string, userId = `u-${id}`): MediasoupConsumerInfo => ({ id, producerId: `p-${id}`, kind: 'audio', rtpParameters: { mid }, userId });
const view = (mid: string, track: string, closed = false): ConsumerView<string> => ({ mid, track, closed });

describe('planConsumers', () => {
  it('consumes every offered consumer on the first offer, in the offer\'s order', () => {
    const plan = planConsumers([], [offered('c2', '0'), offered('c1', '1')]);
    expect(plan.consume.map((c) => c.id)).toEqual(['c2', 'c1']);
    expect(plan.close).toEqual([]);
  });

  it('consumes only the new ones and closes those no longer listed', () => {
    const plan = planConsumers(['a', 'b', 'c'], [offered('c', '2'), offered('d', '3'), offered('a', '0')]);
    expect(plan.consume.map((c) => c.id)).toEqual(['d']);
    expect(plan.close).toEqual(['b']);
  });

  it('closes everything for an offer without consumers, and consumes a listed id once', () => {
    expect(planConsumers(['a', 'b'], [])).toEqual({ consume: [], close: ['a', 'b'] });
    expect(planConsumers([], [offered('a', '0'), offered('a', '0')]).consume).toHaveLength(1);
  });

  it('changes nothing when the offer lists what is already consumed', () => {
    expect(planConsumers(new Map([['a', 1], ['b', 2]]).keys(), [offered('a', '0'), offered('b', '1')])).toEqual({ consume: [], close: [] });
  });
});

describe('mapConsumerTracks', () => {
  it('maps each offered mid to its consumer\'s track, whatever the consumer order', () => {
    const tracks = mapConsumerTracks([view('1', 'track-b'), view('0', 'track-a')], [
      { mid: '0', producer_id: 'p-a', user_id: 'alice' },
      { mid: '1', producer_id: 'p-b', user_id: 'bob' },
    ]);
    expect(tracks).toEqual([
      { user_id: 'alice', mid: '0', producer_id: 'p-a', track: 'track-a' },
      { user_id: 'bob', mid: '1', producer_id: 'p-b', track: 'track-b' },
    ]);
  });

  it('leaves out closed consumers and mids without a consumer', () => {
    const tracks = mapConsumerTracks([view('0', 'a', true), view('1', 'b')], [
      { mid: '0', producer_id: '', user_id: 'alice' },
      { mid: '1', producer_id: '', user_id: 'bob' },
      { mid: '2', producer_id: '', user_id: 'carol' },
    ]);
    expect(tracks.map((t) => t.user_id)).toEqual(['bob']);
  });

  it('keeps one track per speaker when the SFU lists a user twice', () => {
    const tracks = mapConsumerTracks([view('0', 'a0'), view('1', 'a1')], [
      { mid: '1', producer_id: 'p1', user_id: 'alice' },
      { mid: '0', producer_id: 'p0', user_id: 'alice' },
    ]);
    expect(tracks.map((t) => t.track)).toEqual(['a1']);
  });
});
