/** Options of {@link startStandin}. */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EncryptionMode } from '@promethean/shared/providers/discord';
import { defaultImpairmentOptions } from './speakers/impairment.ts';
import type { ImpairmentOptions } from './speakers/impairment.ts';
import type { SpeakerSpec } from './speakers/manager.ts';
import type { VoiceServerExtension } from './voice/extension.ts';

export interface StandinOptions {
  /** Address every socket binds to. */
  host: string;
  /** HTTP port for REST and the main gateway (0 = any free port). */
  port: number;
  /** Voice WebSocket (wss) port (0 = any). */
  voicePort: number;
  /** Voice UDP port (0 = any). */
  udpPort: number;
  /** Host put in VOICE_SERVER_UPDATE's endpoint; must be covered by the certificate. */
  voiceEndpointHost: string;
  /** Where the self-signed certificate is kept (reused across runs). */
  dataDir: string;
  /** Seed for ssrcs, RTP starts, loss, jitter and reordering. */
  seed: number;
  /** Simulated speakers that are in the channel from the start. */
  speakers: SpeakerSpec[];
  /** Start every speaker playing at start-up (else call `speakers.play()`). */
  autoplay: boolean;
  /** With autoplay: play in a loop. */
  loop: boolean;
  /** Pause between looped passes, ms. */
  loopPauseMs: number;
  /** Default impairment of every speaker. */
  impairment: ImpairmentOptions;
  /** Encryption modes offered in op 2, in preference order (clients pick the first they support). */
  modes: EncryptionMode[];
  /** `dave_protocol_version` in op 4 unless an extension sets it. */
  daveProtocolVersion: number;
  /** Voice server extensions (DAVE plugs in here). */
  extensions: VoiceServerExtension[];
  /** Write one WAV per participant into this directory on close. */
  recordDir: string | undefined;
  /** Longest recording kept per participant (48 kHz stereo in memory: ~11.5 MB per minute), s. */
  recordMaxSeconds: number;
  /** Opus bitrate of simulated speakers, bits/s. */
  opusBitrate: number;
  /** Main gateway heartbeat interval, ms. */
  gatewayHeartbeatMs: number;
  /** Voice gateway heartbeat interval, ms. */
  voiceHeartbeatMs: number;
  /** Emit undocumented voice ops (12, 15, 18, 20) after each client is ready. */
  undocumentedOps: boolean;
  /** Put the `BE DE` header extension on speakers' RTP, as real clients do. */
  headerExtension: boolean;
  /** Wall-clock ms per 20 ms of audio divided by 20: 1 = real time, 0.25 = four times faster. */
  timeScale: number;
  /** How long a voice session waits for op 7 Resume after a resumable close, ms. */
  resumeWindowMs: number;
  guildName: string;
  channelName: string;
  /** Receives one line per notable event. */
  log: (message: string) => void;
}

export const defaultStandinOptions: StandinOptions = {
  host: '127.0.0.1',
  port: 0,
  voicePort: 0,
  udpPort: 0,
  voiceEndpointHost: 'localhost',
  dataDir: join(tmpdir(), 'promethean-standin'),
  seed: 1,
  speakers: [],
  autoplay: false,
  loop: false,
  loopPauseMs: 1500,
  impairment: defaultImpairmentOptions,
  modes: ['aead_aes256_gcm_rtpsize', 'aead_xchacha20_poly1305_rtpsize'],
  daveProtocolVersion: 0,
  extensions: [],
  recordDir: undefined,
  recordMaxSeconds: 600,
  opusBitrate: 64_000,
  gatewayHeartbeatMs: 41_250,
  voiceHeartbeatMs: 13_750,
  undocumentedOps: true,
  headerExtension: true,
  timeScale: 1,
  resumeWindowMs: 30_000,
  guildName: 'Promethean Stand-in',
  channelName: 'General Voice',
  log: () => undefined,
};
