/**
 * The relay's clock anchor (bridge → consoles): how a relayed stream's outgoing RTP timestamps sit on
 * the bridge's monotonic clock, the one `voice.audio.pcm` carries in `ts_monotonic_ns`.
 */
import { z } from 'zod';
import { BigIntString, ForeignId } from './common.ts';

/**
 * One (RTP timestamp, monotonic ns) pair of a relayed stream: the frame the relay sent with
 * `rtp_timestamp` is the PCM frame stamped `ts_monotonic_ns`. Later timestamps of the same stream
 * map at 48 kHz from here until the next anchor. Sent at stream start, every few seconds, and when the
 * mapping moves (a talk-spurt re-based by the relay or re-anchored by the jitter buffer).
 */
export const VoiceRelayAnchor = z.object({
  session_id: z.string().min(1).max(128),
  user_id: ForeignId,
  /** The outgoing ssrc (`voice.relay.streams`), not the speaker's Discord ssrc. */
  ssrc: z.number().int().min(0).max(0xffffffff),
  /** The outgoing 32-bit RTP timestamp (48 kHz) of the anchoring frame. */
  rtp_timestamp: z.number().int().min(0).max(0xffffffff),
  /** That frame's `ts_monotonic_ns` on the bridge's clock (bigint as a decimal string). */
  ts_monotonic_ns: BigIntString,
  /** Why it was sent: the stream's first, the periodic refresh, or a moved mapping. */
  reason: z.enum(['start', 'periodic', 'discontinuity']),
});

export const relayPayloads = {
  'voice.relay.anchor': VoiceRelayAnchor,
} as const;
