/** Voice access layer intents (seeds: voice access layer design; DESIGN.md voice path). */
import { z } from 'zod';
import { AudioDataFields, BigIntString, ForeignId, PcmFormat, withAudioData } from './common.ts';

export const VoiceControlJoin = z.object({
  guild_id: ForeignId,
  channel_id: ForeignId,
  /** Our session id for this join; the bridge derives one when omitted. */
  session_id: z.string().min(1).max(128).optional(),
  prefer_opus: z.boolean().default(true),
  self_mute: z.boolean().default(false),
  self_deaf: z.boolean().default(false),
});

export const VoiceControlLeave = z.object({
  guild_id: ForeignId,
  session_id: z.string().min(1).max(128).optional(),
});

export const VoiceControlSetBitrate = z.object({
  session_id: z.string().min(1).max(128),
  bitrate: z.number().int().min(6000).max(510000),
});

export const VoiceStateConnected = z.object({
  guild_id: ForeignId,
  channel_id: ForeignId,
  session_id: z.string().min(1),
  /** ssrc (decimal) → user id, from Speaking op 5. */
  ssrc_map: z.record(z.string().regex(/^[0-9]+$/), ForeignId),
  sample_rate: z.literal(48000),
  channels: z.union([z.literal(1), z.literal(2)]),
  frame_hop_ms: z.literal(20),
  /** 'connected' | 'reconnecting' | 'disconnected' | 'dave_required' — a clear state for 4014/4017. */
  status: z.enum(['connected', 'reconnecting', 'disconnected', 'dave_required', 'kicked', 'failed']).default('connected'),
  /** Why the session ended or failed, in words, where known (`failed`: the join never connected). */
  reason: z.string().max(500).optional(),
  /** The voice WebSocket close code behind the status, where one was given (4014, 4017, …). */
  close_code: z.number().int().optional(),
  encryption: z.object({ mode: z.string(), dave_protocol_version: z.number().int().nonnegative() }).optional(),
});

export const LifecycleState = z.enum(['INIT', 'RUNNING', 'DEGRADED', 'PAUSED', 'STOPPED']);

export const VoiceHealthSpeaker = z.object({
  user_id: ForeignId,
  ssrc: z.number().int().nonnegative(),
  received: z.number().int().nonnegative(),
  lost: z.number().int().nonnegative(),
  loss_pct: z.number().nonnegative(),
  late: z.number().int().nonnegative(),
  reordered: z.number().int().nonnegative(),
  concealed: z.number().int().nonnegative(),
  jitter_ms: z.number().nonnegative(),
  /** The PCM branch's playout delay now: its floor plus what late packets added (adaptive). */
  playout_delay_ms: z.number().nonnegative().optional(),
  clock_skew_ppm: z.number(),
  decrypt_errors: z.number().int().nonnegative(),
  /** Whether the bridge decodes this stream to PCM (someone consumes it); the relay runs either way. */
  decoded: z.boolean().optional(),
});

export const VoiceHealth = z.object({
  session_id: z.string().min(1),
  state: LifecycleState,
  ping_ms: z.number().nonnegative().nullable(),
  jitter_ms: z.number().nonnegative(),
  loss_pct: z.number().nonnegative(),
  reordered: z.number().int().nonnegative(),
  clock_skew_ppm: z.number(),
  queue_depth: z.number().int().nonnegative(),
  dropped_frames: z.number().int().nonnegative(),
  malformed_packets: z.number().int().nonnegative(),
  decrypt_errors: z.number().int().nonnegative(),
  /**
   * Packets of ssrcs no Speaking op 5 had mapped to a user, dropped: held longer than the bridge's
   * hold allows (about 200 ms) or pushed out by its bounds. Counted since the session started.
   */
  unmapped: z.number().int().nonnegative().optional(),
  /** Packets that arrived before their ssrc's op 5, were held and then delivered. Since the session started. */
  held: z.number().int().nonnegative().optional(),
  /** End-to-end encryption (DAVE) of the session; absent when it runs transport encryption only. */
  dave: z
    .object({
      /** 0 after a downgrade to transport encryption only. */
      protocol_version: z.number().int().nonnegative(),
      /** The MLS epoch of the bridge's group; null while it is in none (joining, re-initialising). */
      epoch: z.number().int().nonnegative().nullable(),
      /** Transitions executed (op 22, or a commit / welcome with transition id 0). */
      transitions: z.number().int().nonnegative(),
      /** Frames DAVE could not decrypt (counted, the speaker's stream kept). */
      decrypt_failures: z.number().int().nonnegative(),
      /** Unencrypted frames accepted within a passthrough window (transition, member without keys yet). */
      passthrough_frames: z.number().int().nonnegative(),
      /** Unencrypted frames outside every passthrough window, dropped. */
      unencrypted_rejected: z.number().int().nonnegative().optional(),
      /** Times the bridge itself sent op 31 and re-initialised (missed or undecryptable commit). */
      recoveries: z.number().int().nonnegative().optional(),
      /** op 31 sent for any reason (the library's own recovery after a bad commit or welcome included). */
      invalid_commits: z.number().int().nonnegative().optional(),
    })
    .optional(),
  faults: z.array(z.string()).default([]),
  speakers: z.array(VoiceHealthSpeaker).default([]),
});

export const RtpInfo = z.object({
  ssrc: z.number().int().nonnegative(),
  seq: z.number().int().min(0).max(0xffff),
  timestamp: z.number().int().min(0).max(0xffffffff),
  lost: z.number().int().nonnegative().optional(),
  jitter: z.number().nonnegative().optional(),
  /** True when this frame was synthesised by packet-loss concealment or recovered by FEC. */
  concealed: z.enum(['plc', 'fec']).optional(),
});

export const VoiceAudioPcm = withAudioData(z.object({
  session_id: z.string().min(1),
  user_id: ForeignId,
  ts_monotonic_ns: BigIntString,
  ts_device_ms: z.number().optional(),
  format: PcmFormat,
  rtp: RtpInfo,
  ...AudioDataFields,
}));

export const VoiceAudioRtp = withAudioData(z.object({
  session_id: z.string().min(1),
  user_id: ForeignId,
  ts_monotonic_ns: BigIntString,
  rtp: RtpInfo,
  ...AudioDataFields,
}));

export const VoicePlayPcm = withAudioData(z.object({
  session_id: z.string().min(1),
  format: PcmFormat,
  gain_db: z.number().min(-60).max(24).optional(),
  ducking_db: z.number().min(-60).max(0).optional(),
  /** Optional id so a producer can correlate playback; the mixer keeps requests in arrival order. */
  play_id: z.string().min(1).max(128).optional(),
  /**
   * `main` (default: speech, one request after another) or `background` (music, tones: mixed under
   * main, and lowered by a playing main request's `ducking_db`).
   */
  lane: z.enum(['main', 'background']).optional(),
  ...AudioDataFields,
}));

/** Stops a session's playback at once and drops what is queued (the kill switch); `lane` limits it to one lane. */
export const VoicePlayStop = z.object({
  session_id: z.string().min(1),
  lane: z.enum(['main', 'background']).optional(),
  reason: z.string().max(500).optional(),
});

export const VoicePlayPcmOut = withAudioData(z.object({
  session_id: z.string().min(1),
  play_id: z.string().min(1).max(128).optional(),
  /** Sequence of this 20 ms frame within the session's output stream. */
  seq: z.number().int().nonnegative(),
  format: z.object({ rate_hz: z.literal(48000), channels: z.literal(2), codec: z.literal('pcm_s16le') }),
  /** True on the last frame of a play request. */
  last: z.boolean().default(false),
  ...AudioDataFields,
}));

export const VoicePlayOpus = withAudioData(z.object({
  session_id: z.string().min(1),
  play_id: z.string().min(1).max(128).optional(),
  /** 20 ms Opus 48 kHz stereo packets, one attachment each (or data_b64 of one packet). */
  frame_ms: z.literal(20).default(20),
  ...AudioDataFields,
}));

export const VoiceAudioSegment = z.object({
  session_id: z.string().min(1),
  user_id: ForeignId,
  segment_id: z.string().min(1),
  ts_start_ns: BigIntString,
  ts_end_ns: BigIntString,
  energy_rms: z.number().nonnegative().optional(),
  snr: z.number().optional(),
  vad: z.object({ model: z.string(), threshold: z.number() }).optional(),
  format: PcmFormat.optional(),
  data_path: z.string().optional(),
  attachment: z.number().int().nonnegative().optional(),
  /** How the segment was found: `silero-v5` (server worker, or a browser holding the stream's lease). */
  method: z.string().min(1).max(64).optional(),
  /** The speech-probability threshold that started it. */
  threshold: z.number().min(0).max(1).optional(),
  /** Hang-over: silence that had to pass before it ended, ms. */
  silence_ms: z.number().nonnegative().optional(),
  /** 0, 1, 2 … per stream, contiguous: the tail of `segment_id`. */
  index: z.number().int().nonnegative().optional(),
  /**
   * True on an announcement of a segment whose speech goes on (about once a second): `ts_end_ns` is
   * the end of the audio heard so far, and no `energy_rms` / `snr` yet. Absent (or false) on the one
   * announcement of the finished segment, with the same `segment_id`. Consumers that want finished
   * segments only skip `open: true`.
   */
  open: z.boolean().optional(),
  /** The console tab that found it, when a browser holds the stream's DSP lease (`dsp.capacity`'s `runner_id`). */
  runner_id: z.string().min(1).max(64).optional(),
  /**
   * Which clock a browser's segment times are on: `relay` (mapped through `voice.relay.anchor`, the
   * bridge's monotonic clock) or `receive` (the tab's receive-anchored epoch clock). Absent: a server
   * runner's segment, on the bridge's clock by construction.
   */
  clock: z.enum(['relay', 'receive']).optional(),
});

/**
 * Live VAD settings for one session (or, with no `session_id`, the default for new sessions of the
 * tenant), read by every VAD runner (server worker, browsers). Absent fields keep their value.
 */
export const VoiceVadSettings = z.object({
  session_id: z.string().min(1).max(200).optional(),
  positive_threshold: z.number().min(0).max(1).optional(),
  negative_threshold: z.number().min(0).max(1).optional(),
  min_speech_ms: z.number().min(0).max(60_000).optional(),
  pre_pad_ms: z.number().min(0).max(10_000).optional(),
  post_pad_ms: z.number().min(0).max(10_000).optional(),
  redemption_ms: z.number().min(0).max(60_000).optional(),
  max_segment_ms: z.number().min(100).max(3_600_000).optional(),
  max_tonality: z.number().min(0).max(1).optional(),
});

export const VoiceAudioSpectrogram = z.object({
  session_id: z.string().min(1),
  user_id: ForeignId,
  segment_id: z.string().min(1).optional(),
  ts_monotonic_ns: BigIntString,
  n_mels: z.number().int().positive(),
  n_fft: z.number().int().positive(),
  hop_length: z.number().int().positive(),
  win_length: z.number().int().positive(),
  sample_rate: z.number().int().positive(),
  frames: z.number().int().nonnegative(),
  /** Column-major float32 mel frames, as attachment index; or a stored file. */
  attachment: z.number().int().nonnegative().optional(),
  mel_path: z.string().optional(),
  image_path: z.string().optional(),
});

/** One person (or bot) in a voice channel, as the moderator console shows them. */
export const VoiceMember = z.object({
  user_id: ForeignId,
  /** Guild nickname ?? global (display) name ?? username; the user id only when none is known. */
  display_name: z.string().min(1).max(128),
  /** The member's guild avatar, else the user's avatar, else Discord's default avatar (PNG); null when the user is unknown. */
  avatar_url: z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) URL').max(2048).nullable(),
  bot: z.boolean(),
  /** Server-muted / server-deafened by a moderator. */
  mute: z.boolean(),
  deaf: z.boolean(),
  self_mute: z.boolean(),
  self_deaf: z.boolean(),
});

/** Who is in a session's voice channel: a full snapshot on every change and at least every 5 s. */
export const VoiceMembers = z.object({
  session_id: z.string().min(1).max(128),
  guild_id: ForeignId,
  channel_id: ForeignId,
  guild_name: z.string().min(1).max(200).optional(),
  channel_name: z.string().min(1).max(200).optional(),
  members: z.array(VoiceMember).max(1000),
  /** What this snapshot follows: a periodic/initial `snapshot`, or one user's `join` / `leave` / `update`. */
  change: z
    .object({ kind: z.enum(['snapshot', 'join', 'leave', 'update']), user_id: ForeignId.optional() })
    .refine((c) => c.kind === 'snapshot' || c.user_id !== undefined, { message: 'join, leave and update name the user_id', path: ['user_id'] }),
});

/** How many moderators listen to a session right now (server → bridge, on every change). */
export const VoiceListeners = z.object({
  session_id: z.string().min(1).max(128),
  guild_id: ForeignId,
  channel_id: ForeignId,
  count: z.number().int().min(0).max(1_000_000),
});

/**
 * The speakers' RTP streams the bridge sends to the SFU ingest for one session (bridge → server, on
 * every change and every 2 s): the server keeps one SFU producer per stream.
 */
export const VoiceRelayStreams = z.object({
  session_id: z.string().min(1).max(128),
  guild_id: ForeignId,
  channel_id: ForeignId,
  streams: z
    .array(
      z.object({
        user_id: ForeignId,
        /** The outgoing ssrc (unique per bridge), not the speaker's Discord ssrc. */
        ssrc: z.number().int().min(0).max(0xffffffff),
        payload_type: z.number().int().min(0).max(127),
      }),
    )
    .max(256),
});

/**
 * A guild's voice channels and where the bot is (bridge → server, on start, on changes and every
 * 30 s): what an owner's console offers to join, move to or leave.
 */
export const VoiceChannels = z.object({
  guild_id: ForeignId,
  guild_name: z.string().min(1).max(200).optional(),
  /** The channel the bot is in, or null. */
  bot_channel_id: ForeignId.nullable(),
  /** Whether the tenant's allow-list admits each channel. */
  channels: z.array(z.object({ channel_id: ForeignId, name: z.string().min(1).max(200), allowed: z.boolean() })).max(500),
});

/**
 * A consumer's lease on decoded PCM (`voice.audio.pcm`) of a session: the bridge decodes a speaker's
 * stream only while some lease covers it (when it runs with demand leases). Renew before `ttl_ms`.
 */
export const VoiceAudioPcmDemand = z.object({
  session_id: z.string().min(1).max(200),
  /** Who asks (an agent id, `tap:<pid>`); one lease per (consumer, session), the newest wins. */
  consumer: z.string().min(1).max(128),
  /** Users whose PCM is wanted; absent = every speaker of the session; empty = none (ends the lease). */
  user_ids: z.array(ForeignId).max(256).optional(),
  ttl_ms: z.number().int().min(1000).max(300_000).default(30_000),
});

export const voicePayloads = {
  'voice.control.join': VoiceControlJoin,
  'voice.control.leave': VoiceControlLeave,
  'voice.control.set-bitrate': VoiceControlSetBitrate,
  'voice.state.connected': VoiceStateConnected,
  'voice.health': VoiceHealth,
  'voice.audio.pcm': VoiceAudioPcm,
  'voice.audio.rtp': VoiceAudioRtp,
  'voice.audio.segment': VoiceAudioSegment,
  'voice.vad.settings': VoiceVadSettings,
  'voice.audio.spectrogram': VoiceAudioSpectrogram,
  'voice.play.pcm': VoicePlayPcm,
  'voice.play.pcm.out': VoicePlayPcmOut,
  'voice.play.opus': VoicePlayOpus,
  'voice.play.stop': VoicePlayStop,
  'voice.members': VoiceMembers,
  'voice.listeners': VoiceListeners,
  'voice.relay.streams': VoiceRelayStreams,
  'voice.channels': VoiceChannels,
  'voice.audio.pcm.demand': VoiceAudioPcmDemand,
} as const;
