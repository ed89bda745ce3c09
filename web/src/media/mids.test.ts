import { describe, expect, it } from 'vitest';
import { mapTracks, parseOfferedTracks, type TransceiverView } from './mids.ts';

const tr = (mid: string | null, currentDirection: string | null, track: string, direction = 'recvonly'): TransceiverView<string> => ({ mid, direction, currentDirection, track });

describe('mapTracks', () => {
  it('maps each offered mid to its transceiver track, whatever the transceiver order', () => {
    const trs = [tr('1', 'recvonly', 'track-b'), tr('0', 'recvonly', 'track-a')];
    const offered = [{ mid: '0', producer_id: 'p-a', user_id: 'alice' }, { mid: '1', producer_id: 'p-b', user_id: 'bob' }];
    expect(mapTracks(trs, offered)).toEqual([
      { user_id: 'alice', mid: '0', producer_id: 'p-a', track: 'track-a' },
      { user_id: 'bob', mid: '1', producer_id: 'p-b', track: 'track-b' },
    ]);
  });

  it('drops a speaker whose transceiver a new offer made inactive, and one left out of the offer', () => {
    const trs = [tr('0', 'inactive', 'track-a'), tr('1', 'recvonly', 'track-b'), tr('2', 'recvonly', 'track-c')];
    const offered = [{ mid: '0', producer_id: 'p-a', user_id: 'alice' }, { mid: '1', producer_id: 'p-b', user_id: 'bob' }];
    expect(mapTracks(trs, offered).map((t) => t.user_id)).toEqual(['bob']);
  });

  it('follows a reused mid to its new speaker', () => {
    const trs = [tr('0', 'recvonly', 'track-0')];
    expect(mapTracks(trs, [{ mid: '0', producer_id: 'p1', user_id: 'alice' }])[0]!.user_id).toBe('alice');
    expect(mapTracks(trs, [{ mid: '0', producer_id: 'p2', user_id: 'carol' }])[0]!.user_id).toBe('carol');
  });

  it('ignores unnegotiated (mid null) and stopped transceivers; falls back to direction before negotiation ends', () => {
    const trs = [tr(null, null, 'x'), tr('0', null, 'track-a'), tr('1', 'recvonly', 'track-b', 'stopped')];
    const offered = [{ mid: '0', producer_id: '', user_id: 'alice' }, { mid: '1', producer_id: '', user_id: 'bob' }];
    expect(mapTracks(trs, offered).map((t) => t.track)).toEqual(['track-a']);
  });

  it('keeps one track per speaker when the SFU lists a user twice', () => {
    const trs = [tr('0', 'recvonly', 'a0'), tr('1', 'recvonly', 'a1')];
    const offered = [{ mid: '1', producer_id: 'p1', user_id: 'alice' }, { mid: '0', producer_id: 'p0', user_id: 'alice' }];
    expect(mapTracks(trs, offered).map((t) => t.track)).toEqual(['a1']);
  });
});

describe('parseOfferedTracks', () => {
  it('keeps well-formed entries only', () => {
    expect(parseOfferedTracks([{ mid: '0', producer_id: 'p', user_id: 'u' }, { mid: 0, user_id: 'v' }, null, { mid: '1', user_id: 'w' }])).toEqual([
      { mid: '0', producer_id: 'p', user_id: 'u' },
      { mid: '1', producer_id: '', user_id: 'w' },
    ]);
    expect(parseOfferedTracks({ mid: '0' })).toEqual([]);
  });
});
