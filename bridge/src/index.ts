/** @promethean/bridge — the `discord-voice-access` agent and its parts. */
export { VoiceAccessAgent, type AgentPort, type VoiceAccessAgentOptions } from './agent.ts';
export { startBridge, AGENT_ID, type RunningBridge } from './main.ts';
export { parseBridgeEnv, type BridgeConfig } from './config.ts';
export { DiscordVoiceGateway, type VoiceGateway, type JoinRequest } from './discord/voice-gateway.ts';
export type { OpusRelay, RelayPacket } from './receive/relay.ts';
export { VoiceSession } from './session/voice-session.ts';
export { OpusDecoder, OpusEncoder, findLibopus, opusAvailable } from './audio/opus-native.ts';
export { DatagramHandler, type DatagramCounters, type TransportKeys, type E2eeDecrypt } from './networking/datagram-handler.ts';
export { VoiceConnectionTap } from './networking/voice-connection-tap.ts';
export { ReceiveSession, type ReceiveSessionOptions, type DecryptedPacket } from './receive/receive-session.ts';
export { JitterBuffer, type JitterBufferOptions } from './receive/jitter-buffer.ts';
export { StreamStats } from './receive/stream-stats.ts';
export { SpeakerStream, type PcmFrame } from './receive/speaker-stream.ts';
export { hrtimeClock, type MonotonicClock } from './receive/clock.ts';
export { PcmPublisher, pcmBytes, pcmSamples } from './session/pcm-publisher.ts';
export { PcmFrameEncoder, UuidV7Source } from './session/pcm-frame-encoder.ts';
export { PlayoutTimer, type PlayoutTimerOptions } from './receive/playout-timer.ts';
export { OpusSender, type OpusSink } from './audio/opus-sender.ts';
