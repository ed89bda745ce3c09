/**
 * startStandin(): the protocol-accurate local Discord — REST + main gateway (ws://), voice gateway v8
 * (wss:// with a self-signed certificate), voice UDP — with simulated speakers, a send log, fault
 * switches, optional recording and extension hooks for DAVE.
 */
import { InvalidStateError } from '@promethean/shared';
import { isEncryptionMode } from '@promethean/shared/providers/discord';
import { Faults } from './faults/faults.ts';
import type { PresenceLog } from './gateway/presence.ts';
import { GatewayServer } from './gateway/server.ts';
import { defaultStandinOptions } from './options.ts';
import type { StandinOptions } from './options.ts';
import { Recorder } from './record/recorder.ts';
import { impairmentProblem } from './speakers/impairment.ts';
import { SpeakerManager } from './speakers/manager.ts';
import type { SendLog } from './speakers/sendlog.ts';
import { ensureCertificate } from './tls/cert.ts';
import { StandinConfigError } from './util/errors.ts';
import { Prng } from './util/prng.ts';
import { VoiceServer } from './voice/server.ts';
import { World } from './world.ts';
import { StandinText } from './text/text.ts';
import type { StandinTextOptions } from './text/text.ts';

/** Messages of history in #general of the demo world (autoplay). */
export const DEMO_HISTORY = 200;
/** How often a simulated author posts in #general of the demo world, ms. */
export const DEMO_AUTHOR_INTERVAL_MS = 10_000;

export interface Standin {
  /** REST base for `new Client({ rest: { api: standin.restApi } })`. */
  readonly restApi: string;
  /**
   * CDN base for `new Client({ rest: { api: standin.restApi, cdn: standin.cdnBase } })`: avatars are
   * served at `${cdnBase}/avatars/{user}/{hash}.png?size=N` as on cdn.discordapp.com.
   */
  readonly cdnBase: string;
  /** ws:// URL of the main gateway. */
  readonly gatewayUrl: string;
  /** The voice endpoint (`localhost:<port>`) given in VOICE_SERVER_UPDATE. */
  readonly voiceEndpoint: string;
  readonly udpPort: number;
  /** PEM certificate of the voice wss server; clients need NODE_EXTRA_CA_CERTS=certPath. */
  readonly certPath: string;
  readonly guildId: string;
  readonly voiceChannelId: string;
  readonly textChannelId: string;
  /** The text world: seed history, post, edit, delete, threads, forums, live authors, rate limits. */
  readonly text: StandinText;
  readonly speakers: SpeakerManager;
  readonly sendLog: SendLog;
  readonly faults: Faults;
  /** Presences the bots sent (op 3 and Identify): `presence.activityText(botUserId)`. */
  readonly presence: PresenceLog;
  /** Lower-level access for tests and extensions. */
  readonly voice: VoiceServer;
  readonly gateway: GatewayServer;
  readonly world: World;
  readonly recorder: Recorder | undefined;
  readonly options: StandinOptions;
  /** Stops everything; writes recordings. Idempotent. Resolves to the recorded WAV paths. */
  close(): Promise<string[]>;
  readonly closed: boolean;
}

function validate(o: StandinOptions): void {
  if (o.modes.length === 0 || !o.modes.every(isEncryptionMode)) throw new StandinConfigError('modes must list aead_aes256_gcm_rtpsize and/or aead_xchacha20_poly1305_rtpsize', { path: 'modes' });
  const problem = impairmentProblem(o.impairment, 'impairment');
  if (problem) throw new StandinConfigError(problem, { path: 'impairment' });
  if (!(o.timeScale > 0 && o.timeScale <= 10)) throw new StandinConfigError('timeScale must be within (0, 10]', { path: 'timeScale' });
  if (!(o.opusBitrate >= 6000 && o.opusBitrate <= 510_000)) throw new StandinConfigError('opusBitrate must be within 6000..510000', { path: 'opusBitrate' });
  for (const [k, v] of [['port', o.port], ['voicePort', o.voicePort], ['udpPort', o.udpPort]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 65535) throw new StandinConfigError(`${k} must be an integer port 0..65535`, { path: k });
  }
}

export async function startStandin(input: Partial<StandinOptions> & { text?: Partial<StandinTextOptions> } = {}): Promise<Standin> {
  const options: StandinOptions = { ...defaultStandinOptions, ...input, impairment: { ...defaultStandinOptions.impairment, ...input.impairment } };
  validate(options);
  const log = options.log;
  const prng = new Prng(options.seed);
  const cert = await ensureCertificate(options.dataDir);
  const world = new World({ guildName: options.guildName, channelName: options.channelName });
  const voice = await VoiceServer.start({
    options: {
      host: options.host,
      port: options.voicePort,
      udpPort: options.udpPort,
      udpAdvertisedIp: options.host,
      modes: options.modes,
      heartbeatIntervalMs: options.voiceHeartbeatMs,
      daveProtocolVersion: options.daveProtocolVersion,
      undocumentedOps: options.undocumentedOps,
      headerExtension: options.headerExtension,
      resumeWindowMs: options.resumeWindowMs,
      cert: cert.cert,
      key: cert.key,
    },
    extensions: options.extensions,
    prng: prng.fork('voice'),
    log,
    guildId: world.guildId,
    channelId: world.voiceChannelId,
  });
  let gateway: GatewayServer;
  let cdnBase = '';
  const text = new StandinText(world, () => cdnBase, input.text);
  try {
    gateway = await GatewayServer.start(world, voice, { host: options.host, port: options.port, heartbeatIntervalMs: options.gatewayHeartbeatMs, voiceEndpointHost: options.voiceEndpointHost, text }, log);
    cdnBase = gateway.cdnBase;
  } catch (error) {
    await voice.close();
    throw error;
  }
  const speakers = new SpeakerManager({ world, voice, prng: prng.fork('speakers'), impairment: options.impairment, bitrate: options.opusBitrate, timeScale: options.timeScale, tickMs: 5 });
  const recorder = options.recordDir ? new Recorder(options.recordDir, options.recordMaxSeconds) : undefined;
  if (recorder) {
    speakers.on('frame', (f) => recorder.add(f.speaker.userId, f.speaker.name, f.timestamp, f.opus, f.dueAt));
    voice.on('clientFrame', (f) => recorder.add(f.session.userId, world.users.get(f.session.userId)?.username ?? 'bot', f.header.timestamp, f.frame, speakers.now()));
  }
  const faults = new Faults(voice);
  let closed = false;
  let closing: Promise<string[]> | undefined;
  const standin: Standin = {
    restApi: gateway.restApi,
    cdnBase: gateway.cdnBase,
    gatewayUrl: gateway.gatewayUrl,
    voiceEndpoint: `${options.voiceEndpointHost}:${voice.port}`,
    udpPort: voice.udpPort,
    certPath: cert.certPath,
    guildId: world.guildId,
    voiceChannelId: world.voiceChannelId,
    textChannelId: world.textChannelId,
    text,
    speakers,
    sendLog: speakers.sendLog,
    faults,
    presence: gateway.presence,
    voice,
    gateway,
    world,
    recorder,
    options,
    get closed() {
      return closed;
    },
    close() {
      closing ??= (async () => {
        closed = true;
        speakers.close();
        text.close();
        await gateway.close();
        await voice.close();
        return recorder?.close() ?? [];
      })();
      return closing;
    },
  };
  try {
    for (const spec of options.speakers) speakers.join(spec);
  } catch (error) {
    await standin.close();
    throw error;
  }
  if (options.autoplay) for (const s of speakers.list()) void speakers.play(s.name, { loop: options.loop, pauseMs: options.speakers.find((x) => x.name === s.name)?.pauseMs ?? options.loopPauseMs });
  // The demo world (`promethean standin`, and `promethean start` without a token, autoplay): #general
  // has some history to backfill, and simulated authors post there live.
  if (options.autoplay) {
    text.seedHistory(world.textChannelId, DEMO_HISTORY);
    text.startAuthors({ intervalMs: DEMO_AUTHOR_INTERVAL_MS });
  }
  log(`stand-in ready: REST ${standin.restApi}, CDN ${standin.cdnBase}, voice ${standin.voiceEndpoint}, udp ${standin.udpPort}, cert ${standin.certPath}`);
  return standin;
}

/** Throws InvalidStateError when the stand-in is closed (for callers that hold it long). */
export function assertOpen(standin: Standin): void {
  if (standin.closed) throw new InvalidStateError('the stand-in is closed');
}
