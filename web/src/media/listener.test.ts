/**
 * The listener driver against a fake SFU and a fake media session (WebRTC cannot run under Node;
 * the real thing is covered by the lead's Chromium end-to-end test).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError, UnsupportedError } from '../errors.ts';
import { Listener, type ListenTarget } from './listener.ts';
import type { ListenerStatus } from './listener-machine.ts';
import type { MediaConnectionState, MediaSession } from './media-session.ts';
import type { OfferedTrack, SpeakerTrack } from './mids.ts';
import type { ListenOffer, MediaAnswer, OfferKind, SfuOffer } from './offer.ts';
import type { SfuSignalling } from './signalling.ts';

/**
 * Answers every offer of its kind; a mediasoup one with `null` until an offer had consumers (the real
 * one has no DTLS parameters before its first consume). `applyError` makes `apply` reject.
 */
class FakeSession implements MediaSession {
  connectionState: MediaConnectionState = 'new';
  onstatechange: ((s: MediaConnectionState) => void) | null = null;
  closed = false;
  offers: SfuOffer[] = [];
  consumed = false;
  applyError: Error | undefined;
  #offered: OfferedTrack[] = [];
  constructor(
    readonly n: number,
    readonly kind: OfferKind,
  ) {}
  async apply(offer: SfuOffer): Promise<MediaAnswer | null> {
    if (this.applyError) throw this.applyError;
    if (offer.kind !== this.kind) throw new Error(`a ${this.kind} session cannot take a ${offer.kind} offer`);
    this.offers.push(offer);
    this.#offered = offer.tracks;
    if (offer.kind === 'sdp') return { kind: 'sdp', sdp: `answer-${this.n}-to-${offer.sdp}` };
    this.consumed ||= offer.consumers.length > 0;
    if (!this.consumed) return null;
    return { kind: 'mediasoup', revision: offer.revision, rtpCapabilities: {}, dtlsParameters: { fingerprints: [] } };
  }
  tracks(): SpeakerTrack<MediaStreamTrack>[] {
    return this.#offered.map((o) => ({ ...o, track: { id: `trk-${this.n}-${o.mid}` } as MediaStreamTrack }));
  }
  close(): void {
    this.closed = true;
  }
  set(s: MediaConnectionState): void {
    this.connectionState = s;
    this.onstatechange?.(s);
  }
}

/** The answers sent, written short: `sdp` as the SDP text, mediasoup as `ms@<revision>`. */
const short = (a: MediaAnswer): string => (a.kind === 'sdp' ? a.sdp : `ms@${a.revision}`);

/** Answers like the contract says; `failNext` queues errors for the next calls of a method. */
class FakeSfu implements SfuSignalling {
  calls: Array<[string, ...unknown[]]> = [];
  failNext: Partial<Record<'listen' | 'answer' | 'producers', ApiError[]>> = {};
  /** The kind of offer it makes. */
  kind: OfferKind = 'sdp';
  /** Users without a producer yet: left out of offers, as the SFU does (`skipped`). */
  noProducer = new Set<string>();
  #n = 0;
  #offer(user_ids: string[]): SfuOffer {
    const tracks = user_ids.filter((u) => !this.noProducer.has(u)).map((user_id, i) => ({ mid: String(i), producer_id: `p-${user_id}`, user_id }));
    const n = ++this.#n;
    if (this.kind === 'sdp') return { kind: 'sdp', sdp: `offer${n}`, tracks };
    const consumers = tracks.map((t) => ({ id: `c-${t.user_id}`, producerId: t.producer_id, kind: 'audio' as const, rtpParameters: { mid: t.mid }, userId: t.user_id }));
    return { kind: 'mediasoup', revision: n, routerRtpCapabilities: {}, transport: { id: 'T', iceParameters: {}, iceCandidates: [], dtlsParameters: {} }, consumers, tracks };
  }
  #maybeFail(m: 'listen' | 'answer' | 'producers'): void {
    const e = this.failNext[m]?.shift();
    if (e) throw e;
  }
  async listen(session_id: string, user_ids: string[]): Promise<ListenOffer> {
    this.calls.push(['listen', session_id, user_ids]);
    this.#maybeFail('listen');
    return { listener_id: `L${this.#n + 1}`, ...this.#offer(user_ids) };
  }
  async answer(listener_id: string, answer: MediaAnswer): Promise<void> {
    this.calls.push(['answer', listener_id, short(answer)]);
    this.#maybeFail('answer');
  }
  async producers(listener_id: string, user_ids: string[]): Promise<SfuOffer> {
    this.calls.push(['producers', listener_id, user_ids]);
    this.#maybeFail('producers');
    return this.#offer(user_ids);
  }
  async remove(listener_id: string): Promise<void> {
    this.calls.push(['remove', listener_id]);
  }
}

describe('Listener', () => {
  let sfu: FakeSfu;
  let peers: FakeSession[];
  let target: ListenTarget;
  let listener: Listener;
  let statuses: ListenerStatus[];
  /** Runs on every session the listener creates. */
  let setupSession: (s: FakeSession) => void;
  let tracks: string[][];
  const flush = () => vi.advanceTimersByTimeAsync(0);

  beforeEach(() => {
    vi.useFakeTimers();
    sfu = new FakeSfu();
    peers = [];
    statuses = [];
    tracks = [];
    setupSession = () => undefined;
    target = { user_ids: ['alice', 'bob'], key: 'alice,bob|' };
    listener = new Listener(
      {
        signalling: sfu,
        createSession: (kind) => {
          const p = new FakeSession(peers.length + 1, kind);
          setupSession(p);
          peers.push(p);
          return p;
        },
        target: () => target,
      },
      { backoff: { initialMs: 500, maxMs: 4000, factor: 2, jitter: 0 }, disconnectGraceMs: 3000, connectTimeoutMs: 8000, refreshDebounceMs: 100 },
    );
    listener.on('stateChange', (_o, n) => statuses.push(n.status));
    listener.on('tracks', (t) => tracks.push(t.map((x) => `${x.user_id}@${x.mid}:${(x.track as { id: string }).id}`)));
  });
  afterEach(() => {
    listener.close();
    vi.useRealTimers();
  });

  async function goLive(): Promise<void> {
    listener.start('v1');
    await flush();
    peers.at(-1)!.set('connected');
    await flush();
  }

  it('listens, answers the offer and goes live when the connection is up; mids map to speakers', async () => {
    listener.start('v1');
    await flush();
    expect(sfu.calls).toEqual([['listen', 'v1', ['alice', 'bob']], ['answer', 'L1', 'answer-1-to-offer1']]);
    expect(listener.state).toMatchObject({ status: 'negotiating', listener_id: 'L1' });
    expect(tracks.at(-1)).toEqual(['alice@0:trk-1-0', 'bob@1:trk-1-1']);
    peers[0]!.set('connected');
    expect(listener.state).toMatchObject({ status: 'live', listener_id: 'L1', session_id: 'v1' });
    expect(statuses).toEqual(['negotiating', 'negotiating', 'live']);
  });

  it('adds and drops speakers on the same connection through the producers endpoint', async () => {
    await goLive();
    target = { user_ids: ['alice', 'bob', 'carol'], key: 'abc' };
    listener.refresh();
    listener.refresh(); // debounced into one update
    await vi.advanceTimersByTimeAsync(100);
    expect(sfu.calls.slice(2)).toEqual([['producers', 'L1', ['alice', 'bob', 'carol']], ['answer', 'L1', 'answer-1-to-offer2']]);
    expect(tracks.at(-1)).toEqual(['alice@0:trk-1-0', 'bob@1:trk-1-1', 'carol@2:trk-1-2']);
    target = { user_ids: ['carol'], key: 'c' };
    listener.refresh();
    await vi.advanceTimersByTimeAsync(100);
    expect(tracks.at(-1)).toEqual(['carol@0:trk-1-0']);
    expect(peers).toHaveLength(1);
    expect(listener.state.status).toBe('live');
    expect(sfu.calls.filter((c) => c[0] === 'listen')).toHaveLength(1);
  });

  it('starts over with a fresh listen for the current speakers when the listener is gone (404: server restarted)', async () => {
    await goLive();
    sfu.failNext.producers = [new ApiError(404, 'not_found', 'no such listener')];
    target = { user_ids: ['alice'], key: 'a' };
    listener.refresh();
    await vi.advanceTimersByTimeAsync(100);
    expect(listener.state).toMatchObject({ status: 'reconnecting', attempt: 1, delay_ms: 500 });
    expect(peers[0]!.closed).toBe(true);
    expect(tracks.at(-1)).toEqual([]);
    await vi.advanceTimersByTimeAsync(500);
    expect(sfu.calls.filter((c) => c[0] === 'listen').at(-1)).toEqual(['listen', 'v1', ['alice']]);
    peers[1]!.set('connected');
    expect(listener.state).toMatchObject({ status: 'live', session_id: 'v1' });
    expect(statuses).toEqual(['negotiating', 'negotiating', 'live', 'reconnecting', 'negotiating', 'negotiating', 'live']);
  });

  it('rides out a short disconnect, but starts over after the grace period', async () => {
    await goLive();
    peers[0]!.set('disconnected');
    await vi.advanceTimersByTimeAsync(2000);
    peers[0]!.set('connected');
    await vi.advanceTimersByTimeAsync(5000);
    expect(listener.state.status).toBe('live');
    peers[0]!.set('disconnected');
    await vi.advanceTimersByTimeAsync(3000);
    expect(listener.state.status).toBe('reconnecting');
    expect(sfu.calls).toContainEqual(['remove', 'L1']);
    await vi.advanceTimersByTimeAsync(500);
    peers[1]!.set('connected');
    expect(listener.state).toMatchObject({ status: 'live', listener_id: 'L2' });
  });

  it('a failed connection starts over at once; unreachable server retries with growing, bounded delays', async () => {
    await goLive();
    const down = () => new ApiError(0, 'network', 'no answer');
    sfu.failNext.listen = [down(), down(), down(), down(), down()];
    peers[0]!.set('failed');
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const s = listener.state;
      if (s.status !== 'reconnecting') break;
      delays.push(s.delay_ms);
      await vi.advanceTimersByTimeAsync(s.delay_ms);
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 4000, 4000]);
    peers.at(-1)!.set('connected');
    expect(listener.state.status).toBe('live');
  });

  it('gives up the attempt and starts over when the connection never comes up', async () => {
    listener.start('v1');
    await flush();
    await vi.advanceTimersByTimeAsync(8000);
    expect(listener.state).toMatchObject({ status: 'reconnecting', reason: 'audio did not connect within 8 s' });
  });

  it('a 403 is final: error state, no retry', async () => {
    sfu.failNext.listen = [new ApiError(403, 'forbidden', 'not your guild')];
    listener.start('v1');
    await flush();
    expect(listener.state).toEqual({ status: 'error', session_id: 'v1', code: 'forbidden', message: 'not your guild' });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sfu.calls.filter((c) => c[0] === 'listen')).toHaveLength(1);
  });

  it('stop() deletes the listener, closes the connection and drops the tracks', async () => {
    await goLive();
    listener.stop();
    expect(listener.state.status).toBe('idle');
    expect(sfu.calls.at(-1)).toEqual(['remove', 'L1']);
    expect(peers[0]!.closed).toBe(true);
    expect(tracks.at(-1)).toEqual([]);
    peers[0]!.set('failed'); // late events from the old connection change nothing
    expect(listener.state.status).toBe('idle');
  });

  it('asks again, a bounded number of times, for a talking speaker whose producer was not ready', async () => {
    sfu.noProducer.add('bob');
    target = { user_ids: ['alice', 'bob'], expect: ['alice', 'bob'], key: 'ab|ab' };
    await goLive();
    expect(tracks.at(-1)).toEqual(['alice@0:trk-1-0']);
    await vi.advanceTimersByTimeAsync(500 + 100); // first retry after backoff(0), plus the refresh debounce
    expect(sfu.calls.filter((c) => c[0] === 'producers')).toHaveLength(1);
    sfu.noProducer.clear();
    await vi.advanceTimersByTimeAsync(1000 + 100);
    expect(tracks.at(-1)).toEqual(['alice@0:trk-1-0', 'bob@1:trk-1-1']);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sfu.calls.filter((c) => c[0] === 'producers')).toHaveLength(2); // found: no more asking

    sfu.noProducer.add('carol');
    target = { user_ids: ['alice', 'bob', 'carol'], expect: ['carol'], key: 'abc|c' };
    listener.refresh();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(sfu.calls.filter((c) => c[0] === 'producers')).toHaveLength(3 + 5); // the change, then 5 retries
    expect(listener.state.status).toBe('live');
  });

  it('a refused update (429) keeps the audio live and tries again later', async () => {
    await goLive();
    sfu.failNext.producers = [new ApiError(429, 'rate_limited', 'slow down')];
    const problems: string[] = [];
    listener.on('problem', (e) => problems.push(e.message));
    target = { user_ids: ['alice'], key: 'a' };
    listener.refresh();
    await vi.advanceTimersByTimeAsync(100);
    expect(listener.state.status).toBe('live');
    expect(problems).toEqual(['slow down']);
    await vi.advanceTimersByTimeAsync(500);
    expect(sfu.calls.filter((c) => c[0] === 'producers')).toHaveLength(2);
    expect(tracks.at(-1)).toEqual(['alice@0:trk-1-0']);
  });

  describe('with the mediasoup driver', () => {
    beforeEach(() => {
      sfu.kind = 'mediasoup';
    });

    it('makes the session for the offer\'s kind and answers each offer with its revision, on the same session', async () => {
      await goLive();
      expect(peers.map((p) => p.kind)).toEqual(['mediasoup']);
      expect(sfu.calls).toEqual([['listen', 'v1', ['alice', 'bob']], ['answer', 'L1', 'ms@1']]);
      expect(tracks.at(-1)).toEqual(['alice@0:trk-1-0', 'bob@1:trk-1-1']);
      target = { user_ids: ['bob'], key: 'b' };
      listener.refresh();
      await vi.advanceTimersByTimeAsync(100);
      expect(sfu.calls.slice(2)).toEqual([['producers', 'L1', ['bob']], ['answer', 'L1', 'ms@2']]);
      expect(tracks.at(-1)).toEqual(['bob@0:trk-1-0']);
      expect(peers).toHaveLength(1);
      expect(listener.state.status).toBe('live');
    });

    it('sends no answer while the transport has nothing to connect (no consumer yet), and starts over if it never connects', async () => {
      sfu.noProducer = new Set(['alice', 'bob']);
      listener.start('v1');
      await flush();
      expect(sfu.calls).toEqual([['listen', 'v1', ['alice', 'bob']]]);
      expect(listener.state).toMatchObject({ status: 'negotiating', listener_id: 'L1' });
      sfu.noProducer.clear();
      await vi.advanceTimersByTimeAsync(8000);
      expect(listener.state).toMatchObject({ status: 'reconnecting', reason: 'audio did not connect within 8 s' });
      await vi.advanceTimersByTimeAsync(500);
      expect(sfu.calls.slice(-2)).toEqual([['listen', 'v1', ['alice', 'bob']], ['answer', 'L2', 'ms@2']]);
    });

    it('an answer refused with 409 (a newer offer replaced it) asks for the newest offer and answers that, without a notice', async () => {
      await goLive();
      const problems: string[] = [];
      listener.on('problem', (e) => problems.push(e.message));
      sfu.failNext.answer = [new ApiError(409, 'invalid_state', 'the answer is for offer 2, offer 3 replaced it')];
      target = { user_ids: ['alice'], key: 'a' };
      listener.refresh();
      await vi.advanceTimersByTimeAsync(100 + 500);
      expect(sfu.calls.slice(2)).toEqual([
        ['producers', 'L1', ['alice']],
        ['answer', 'L1', 'ms@2'],
        ['producers', 'L1', ['alice']],
        ['answer', 'L1', 'ms@3'],
      ]);
      expect(problems).toEqual([]);
      expect(tracks.at(-1)).toEqual(['alice@0:trk-1-0']);
      expect(listener.state.status).toBe('live');
    });

    it('a browser that cannot take the offer is a final error, not a retry loop', async () => {
      setupSession = (s) => (s.applyError = new UnsupportedError('this browser cannot receive mediasoup audio'));
      listener.start('v1');
      await flush();
      expect(listener.state).toEqual({ status: 'error', session_id: 'v1', code: 'unsupported', message: 'this browser cannot receive mediasoup audio' });
      expect(sfu.calls).toContainEqual(['remove', 'L1']);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(sfu.calls.filter((c) => c[0] === 'listen')).toHaveLength(1);
    });
  });
});
