/**
 * Where the browser's decoded audio sits on the session clock. Pure. The chain (docs/dsp.md):
 *
 * 1. the capture worker knows, for the newest received frame, its RTP timestamp and its session-clock
 *    ns (`CaptureStats.newest`);
 * 2. the receiver's `getSynchronizationSources()` says which RTP timestamp was last played out and
 *    when (`timestamp`, ms: Chromium gives it on the epoch clock, `performance.timeOrigin + now`);
 * 3. `AudioContext.getOutputTimestamp()` pairs the AudioContext clock with `performance.now()`.
 *
 * Together: the AudioContext frame at which the synchronization source's RTP timestamp played, and
 * that timestamp's session-clock ns — one (frame, ns) pair, from which every worklet sample gets its
 * session time at the AudioContext's rate.
 */
import { OPUS_RTP_RATE } from './rtp-clock.ts';

export interface PlayoutInput {
  /** The newest captured frame: 32-bit RTP timestamp and session-clock ns. */
  newest: { rtp: number; ns: bigint };
  /** The receiver's synchronization source for the same stream. */
  sync: { rtpTimestamp: number; timestamp: number };
  /** `performance.timeOrigin`. */
  timeOriginMs: number;
  /** `AudioContext.getOutputTimestamp()`. */
  output: { contextTime: number; performanceTime: number };
  /** AudioContext sample rate. */
  sampleRate: number;
}

export interface ClockPair {
  /** AudioContext frame. */
  frame: number;
  /** Session-clock ns of that frame. */
  ns: bigint;
}

/** Epoch-clock values (ms since 1970) are above this; `performance.now()` values far below. */
const EPOCH_MS = 1e12;

export function playoutPair(i: PlayoutInput): ClockPair {
  // Signed 32-bit difference: the played-out timestamp is usually a little behind the newest received.
  const d = ((i.sync.rtpTimestamp - i.newest.rtp) | 0) as number;
  const ns = i.newest.ns + (BigInt(d) * 1_000_000_000n) / BigInt(OPUS_RTP_RATE);
  const playedPerf = i.sync.timestamp > EPOCH_MS ? i.sync.timestamp - i.timeOriginMs : i.sync.timestamp;
  const contextTime = i.output.contextTime + (playedPerf - i.output.performanceTime) / 1000;
  return { frame: Math.round(contextTime * i.sampleRate), ns };
}

/** Session-clock ns of an AudioContext frame through a pair. */
export function frameToNs(pair: ClockPair, frame: number, sampleRate: number): bigint {
  return pair.ns + (BigInt(Math.round(frame - pair.frame)) * 1_000_000_000n) / BigInt(sampleRate);
}
