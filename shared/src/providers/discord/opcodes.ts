/**
 * Discord wire constants: main gateway (v10) and voice gateway (v8) opcodes, voice close codes,
 * transport encryption modes and the RTP/Opus facts both the bridge and the local stand-in rely on.
 * Browser-safe (no Node imports).
 */

/** Main gateway opcodes (gateway v10). */
export const GatewayOp = {
  Dispatch: 0,
  Heartbeat: 1,
  Identify: 2,
  PresenceUpdate: 3,
  VoiceStateUpdate: 4,
  Resume: 6,
  Reconnect: 7,
  RequestGuildMembers: 8,
  InvalidSession: 9,
  Hello: 10,
  HeartbeatAck: 11,
} as const;
export type GatewayOpcode = (typeof GatewayOp)[keyof typeof GatewayOp];

/** Voice gateway opcodes (voice v8), DAVE (21–31) included. */
export const VoiceOp = {
  Identify: 0,
  SelectProtocol: 1,
  Ready: 2,
  Heartbeat: 3,
  SessionDescription: 4,
  Speaking: 5,
  HeartbeatAck: 6,
  Resume: 7,
  Hello: 8,
  Resumed: 9,
  ClientsConnect: 11,
  ClientDisconnect: 13,
  DavePrepareTransition: 21,
  DaveExecuteTransition: 22,
  DaveTransitionReady: 23,
  DavePrepareEpoch: 24,
  DaveMlsExternalSender: 25,
  DaveMlsKeyPackage: 26,
  DaveMlsProposals: 27,
  DaveMlsCommitWelcome: 28,
  DaveMlsAnnounceCommitTransition: 29,
  DaveMlsWelcome: 30,
  DaveMlsInvalidCommitWelcome: 31,
} as const;
export type VoiceOpcode = (typeof VoiceOp)[keyof typeof VoiceOp];

/**
 * Ops real voice servers send that no public document describes; clients must ignore them.
 * Names are community guesses and are informational only.
 */
export const UndocumentedVoiceOp = {
  Video: 12,
  Codecs: 14,
  MediaSinkWants: 15,
  VoiceBackendVersion: 16,
  ChannelOptionsUpdate: 17,
  ClientFlags: 18,
  SpeedTest: 19,
  ClientPlatform: 20,
} as const;

/** Voice WebSocket close codes and what @discordjs/voice does with them. */
export const VoiceCloseCode = {
  UnknownOpcode: 4001,
  FailedToDecodePayload: 4002,
  NotAuthenticated: 4003,
  AuthenticationFailed: 4004,
  AlreadyAuthenticated: 4005,
  SessionNoLongerValid: 4006,
  SessionTimeout: 4009,
  ServerNotFound: 4011,
  UnknownProtocol: 4012,
  /** Kicked / channel deleted: the client goes Disconnected and does not rejoin. */
  Disconnected: 4014,
  /** The client resumes (op 7) when it was Ready. */
  VoiceServerCrashed: 4015,
  UnknownEncryptionMode: 4016,
  /** End-to-end encryption (DAVE) required. */
  E2eeRequired: 4017,
  BadRequest: 4020,
  RateLimited: 4021,
  CallTerminated: 4022,
} as const;

/** True when @discordjs/voice resumes after this close code (only while Ready). */
export function voiceCloseCodeResumes(code: number): boolean {
  return code < 4000 || code === VoiceCloseCode.VoiceServerCrashed;
}

/** The two transport encryption modes current clients support, best first. */
export const ENCRYPTION_MODES = ['aead_aes256_gcm_rtpsize', 'aead_xchacha20_poly1305_rtpsize'] as const;
export type EncryptionMode = (typeof ENCRYPTION_MODES)[number];

export function isEncryptionMode(value: unknown): value is EncryptionMode {
  return typeof value === 'string' && (ENCRYPTION_MODES as readonly string[]).includes(value);
}

/** Dynamic RTP payload type Discord uses for Opus. */
export const RTP_PAYLOAD_TYPE_OPUS = 120;
/** Opus at 48 kHz, 20 ms per frame. */
export const OPUS_SAMPLE_RATE = 48_000;
export const OPUS_CHANNELS = 2;
export const SAMPLES_PER_FRAME = 960;
export const FRAME_DURATION_MS = 20;
/** The Opus frame clients send five of after a talk-spurt; never E2EE-encrypted. */
export const OPUS_SILENCE_FRAME: Uint8Array = Uint8Array.of(0xf8, 0xff, 0xfe);
/** Number of silence frames sent after each talk-spurt. */
export const SILENCE_FRAMES_AFTER_SPURT = 5;

/** True when `frame` is exactly the Opus silence frame `F8 FF FE`. */
export function isOpusSilenceFrame(frame: Uint8Array): boolean {
  return frame.byteLength === 3 && frame[0] === 0xf8 && frame[1] === 0xff && frame[2] === 0xfe;
}
