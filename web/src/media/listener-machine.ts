/**
 * The listener's states and transitions, pure: idle → negotiating → live; a lost connection or a
 * failed attempt → reconnecting (bounded backoff) → negotiating → live again; a final error → error.
 * Events that make no sense in a state leave it unchanged (the same object).
 */
import { backoffDelay, type BackoffOptions } from '../util/backoff.ts';
import type { OfferedTrack } from './mids.ts';

export type ListenerStatus = 'idle' | 'negotiating' | 'live' | 'reconnecting' | 'error';

export interface IdleState {
  status: 'idle';
}

export interface NegotiatingState {
  status: 'negotiating';
  session_id: string;
  /** Failed attempts before this one (0 on a fresh start). */
  attempt: number;
  /** Set once the SFU accepted the answer; live follows when the connection is up. */
  listener_id?: string;
  tracks?: OfferedTrack[];
}

export interface LiveState {
  status: 'live';
  session_id: string;
  listener_id: string;
  tracks: OfferedTrack[];
}

export interface ReconnectingState {
  status: 'reconnecting';
  session_id: string;
  /** Failed attempts so far (≥ 1). */
  attempt: number;
  /** Wait before the next attempt. */
  delay_ms: number;
  reason: string;
}

export interface ErrorState {
  status: 'error';
  session_id: string;
  code: string;
  message: string;
}

export type ListenerState = IdleState | NegotiatingState | LiveState | ReconnectingState | ErrorState;

export type ListenerEvent =
  | { type: 'start'; session_id: string }
  | { type: 'answered'; listener_id: string; tracks: OfferedTrack[] }
  | { type: 'connected' }
  | { type: 'renegotiated'; tracks: OfferedTrack[] }
  | { type: 'failed'; retryable: boolean; code: string; reason: string }
  | { type: 'lost'; reason: string }
  | { type: 'retry' }
  | { type: 'stop' };

export const IDLE: IdleState = { status: 'idle' };

export function nextListenerState(state: ListenerState, event: ListenerEvent, backoff: BackoffOptions, random: () => number = Math.random): ListenerState {
  switch (event.type) {
    case 'start':
      return { status: 'negotiating', session_id: event.session_id, attempt: 0 };
    case 'stop':
      return state.status === 'idle' ? state : IDLE;
    case 'answered':
      if (state.status !== 'negotiating') return state;
      return { ...state, listener_id: event.listener_id, tracks: event.tracks };
    case 'connected':
      if (state.status !== 'negotiating' || state.listener_id === undefined) return state;
      return { status: 'live', session_id: state.session_id, listener_id: state.listener_id, tracks: state.tracks ?? [] };
    case 'renegotiated':
      if (state.status !== 'live') return state;
      return { ...state, tracks: event.tracks };
    case 'failed':
      if (state.status !== 'negotiating') return state;
      if (!event.retryable) return { status: 'error', session_id: state.session_id, code: event.code, message: event.reason };
      return reconnect(state.session_id, state.attempt, event.reason, backoff, random);
    case 'lost':
      if (state.status === 'live') return reconnect(state.session_id, 0, event.reason, backoff, random);
      if (state.status === 'negotiating') return reconnect(state.session_id, state.attempt, event.reason, backoff, random);
      return state;
    case 'retry':
      if (state.status !== 'reconnecting') return state;
      return { status: 'negotiating', session_id: state.session_id, attempt: state.attempt };
  }
}

function reconnect(session_id: string, failedBefore: number, reason: string, backoff: BackoffOptions, random: () => number): ReconnectingState {
  return { status: 'reconnecting', session_id, attempt: failedBefore + 1, delay_ms: backoffDelay(failedBefore, backoff, random), reason };
}
