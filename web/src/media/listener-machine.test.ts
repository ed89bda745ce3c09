import { describe, expect, it } from 'vitest';
import { IDLE, nextListenerState, type ListenerEvent, type ListenerState } from './listener-machine.ts';

const backoff = { initialMs: 500, maxMs: 8000, factor: 2, jitter: 0 };
const step = (s: ListenerState, e: ListenerEvent) => nextListenerState(s, e, backoff, () => 0.5);
const run = (events: ListenerEvent[], from: ListenerState = IDLE) => events.reduce(step, from);
const tracks = [{ mid: '0', producer_id: 'p', user_id: 'alice' }];

describe('listener state machine', () => {
  it('idle → negotiating → live once the answer is accepted and the connection is up', () => {
    const s1 = step(IDLE, { type: 'start', session_id: 'v1' });
    expect(s1).toEqual({ status: 'negotiating', session_id: 'v1', attempt: 0 });
    const s2 = step(s1, { type: 'answered', listener_id: 'L1', tracks });
    expect(s2.status).toBe('negotiating');
    expect(step(s2, { type: 'connected' })).toEqual({ status: 'live', session_id: 'v1', listener_id: 'L1', tracks });
  });

  it('live → reconnecting → negotiating → live after a lost connection, with a fresh listener id', () => {
    const live = run([{ type: 'start', session_id: 'v1' }, { type: 'answered', listener_id: 'L1', tracks }, { type: 'connected' }]);
    const lost = step(live, { type: 'lost', reason: 'peer connection failed' });
    expect(lost).toEqual({ status: 'reconnecting', session_id: 'v1', attempt: 1, delay_ms: 500, reason: 'peer connection failed' });
    const again = run([{ type: 'retry' }, { type: 'answered', listener_id: 'L2', tracks }, { type: 'connected' }], lost);
    expect(again).toMatchObject({ status: 'live', session_id: 'v1', listener_id: 'L2' });
  });

  it('backs off longer after each failed attempt, bounded by maxMs, and resets once live', () => {
    let s = run([{ type: 'start', session_id: 'v1' }]);
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      s = step(s, { type: 'failed', retryable: true, code: 'network', reason: 'no answer' });
      if (s.status !== 'reconnecting') throw new Error(`unexpected ${s.status}`);
      delays.push(s.delay_ms);
      s = step(s, { type: 'retry' });
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 8000, 8000, 8000]);
    s = run([{ type: 'answered', listener_id: 'L9', tracks }, { type: 'connected' }, { type: 'lost', reason: 'x' }], s);
    expect(s).toMatchObject({ status: 'reconnecting', attempt: 1, delay_ms: 500 });
  });

  it('a connection lost before it came up counts as a failed attempt', () => {
    const s = run([{ type: 'start', session_id: 'v1' }, { type: 'failed', retryable: true, code: 'network', reason: 'x' }, { type: 'retry' }, { type: 'answered', listener_id: 'L', tracks }, { type: 'lost', reason: 'ICE timeout' }]);
    expect(s).toMatchObject({ status: 'reconnecting', attempt: 2, delay_ms: 1000 });
  });

  it('a final failure (403) ends in error; start from error negotiates again', () => {
    const err = run([{ type: 'start', session_id: 'v1' }, { type: 'failed', retryable: false, code: 'forbidden', reason: 'not your guild' }]);
    expect(err).toEqual({ status: 'error', session_id: 'v1', code: 'forbidden', message: 'not your guild' });
    expect(step(err, { type: 'start', session_id: 'v1' }).status).toBe('negotiating');
  });

  it('renegotiation keeps the connection live and replaces the track list', () => {
    const live = run([{ type: 'start', session_id: 'v1' }, { type: 'answered', listener_id: 'L1', tracks }, { type: 'connected' }]);
    const more = [...tracks, { mid: '1', producer_id: 'q', user_id: 'bob' }];
    expect(step(live, { type: 'renegotiated', tracks: more })).toEqual({ ...live, tracks: more });
  });

  it('ignores events that do not fit the state (same object back)', () => {
    expect(step(IDLE, { type: 'connected' })).toBe(IDLE);
    expect(step(IDLE, { type: 'lost', reason: 'x' })).toBe(IDLE);
    expect(step(IDLE, { type: 'stop' })).toBe(IDLE);
    const neg = step(IDLE, { type: 'start', session_id: 'v1' });
    expect(step(neg, { type: 'connected' })).toBe(neg); // not answered yet
    expect(step(neg, { type: 'retry' })).toBe(neg);
    expect(step(neg, { type: 'renegotiated', tracks })).toBe(neg);
    const live = run([{ type: 'answered', listener_id: 'L', tracks }, { type: 'connected' }], neg);
    expect(step(live, { type: 'failed', retryable: true, code: 'x', reason: 'x' })).toBe(live);
    expect(step(live, { type: 'stop' })).toBe(IDLE);
  });
});
