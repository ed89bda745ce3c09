/** The relay branch to the SFU: per-speaker Opus as plain RTP to the SFU ingest. */
export { RtpForwarder, defaultRtpForwarderOptions, type RtpForwarderOptions, type RtpForwarderCounters, type RtpDestination, type RtpStreamEvent } from './rtp-forwarder.ts';
export type { SessionRelay, StreamCloseReason } from './session-relay.ts';
export { RtpStreamRewriter, defaultRtpStreamOptions, type RtpStreamOptions, type RewrittenHeader } from './rtp-stream.ts';
