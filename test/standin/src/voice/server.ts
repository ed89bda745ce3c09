/**
 * The voice server: `wss://` (TLS, voice gateway v8) plus the UDP media socket. It keeps voice
 * sessions, forwards simulated speakers' frames to every ready client (each with its own key and nonce
 * counter), decrypts what clients send, and calls the {@link VoiceServerExtension}s.
 */
import { EventEmitter } from 'node:events';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import { randomBytes } from 'node:crypto';
import { WebSocketServer } from 'ws';
import { VoiceCloseCode, VoiceOp, voiceCloseCodeResumes } from '@promethean/shared/providers/discord';
import type { EncryptionMode } from '@promethean/shared/providers/discord';
import type { Prng } from '../util/prng.ts';
import { VoiceConnection } from './connection.ts';
import { forwardSpeakerFrame, handleClientRtp, sendToClients } from './media.ts';
import type { ClientFrame, MediaContext, SpeakerRtp } from './media.ts';
import type { SpeakerHandle, VoiceClientHandle, VoiceServerExtension, VoiceServerView } from './extension.ts';
import { VoiceSession } from './session.ts';
import { SpeakingDelays, type DelayedSpeaking } from './speaking-delay.ts';
import { VoiceUdp } from './udp.ts';
import { sendUndocumentedOps } from './undocumented.ts';

export interface VoiceServerOptions {
  host: string;
  /** wss port (0 = any). */
  port: number;
  udpPort: number;
  /** The `ip` announced in op 2 Ready. */
  udpAdvertisedIp: string;
  modes: EncryptionMode[];
  heartbeatIntervalMs: number;
  daveProtocolVersion: number;
  /** Send some undocumented ops (12, 15, 18, 20) to each client after it is ready. */
  undocumentedOps: boolean;
  /** Put the `BE DE` one-byte header extension (audio level) on speakers' packets. */
  headerExtension: boolean;
  /** How long a session waits for op 7 after a resumable close (ms). */
  resumeWindowMs: number;
  cert: Buffer;
  key: Buffer;
}

export interface VoiceServerCounters {
  rejected: number;
  malformedWs: number;
  unknownOpsIn: number;
  resumes: number;
  rtpIn: number;
  rtpUnknownSsrc: number;
  rtpMalformed: number;
  decryptFailures: number;
  transformFailures: number;
  extensionErrors: number;
  /** Bugs caught at a socket boundary instead of crashing the process. */
  internalErrors: number;
}


export interface VoiceServerEvents {
  clientFrame: [frame: ClientFrame];
  clientReady: [session: VoiceSession];
  clientGone: [session: VoiceSession];
}

interface Grant {
  token: string;
  userId: string;
  sessionId: string;
  guildId: string;
}

export class VoiceServer extends EventEmitter<VoiceServerEvents> {
  readonly options: VoiceServerOptions;
  readonly counters: VoiceServerCounters = { rejected: 0, malformedWs: 0, unknownOpsIn: 0, resumes: 0, rtpIn: 0, rtpUnknownSsrc: 0, rtpMalformed: 0, decryptFailures: 0, transformFailures: 0, extensionErrors: 0, internalErrors: 0 };
  readonly udp: VoiceUdp;
  readonly #https: Server;
  readonly #wss: WebSocketServer;
  readonly #grants = new Map<string, Grant>();
  readonly #sessions = new Set<VoiceSession>();
  readonly #bySsrc = new Map<number, VoiceSession>();
  readonly #speakers = new Map<string, SpeakerHandle>();
  readonly #talking = new Set<string>();
  readonly #extensions: VoiceServerExtension[];
  readonly #prng: Prng;
  readonly #log: (message: string) => void;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #heartbeatCheck: NodeJS.Timeout;
  readonly #media: MediaContext;
  /** Armed "late op 5" faults. */
  readonly #speakingDelays = new SpeakingDelays((speaker) => this.#announceSpeaking(speaker));
  readonly guildId: string;
  readonly channelId: string;
  #closed = false;

  private constructor(args: { options: VoiceServerOptions; udp: VoiceUdp; https: Server; extensions: VoiceServerExtension[]; prng: Prng; log: (m: string) => void; guildId: string; channelId: string }) {
    super();
    this.options = args.options;
    this.udp = args.udp;
    this.#https = args.https;
    this.#extensions = args.extensions;
    this.#prng = args.prng;
    this.#log = args.log;
    this.guildId = args.guildId;
    this.channelId = args.channelId;
    this.#wss = new WebSocketServer({ server: this.#https, maxPayload: 1 << 20 });
    this.#wss.on('connection', (ws) => new VoiceConnection(this, ws));
    this.udp.on('discovery', (ssrc, remote) => {
      const session = this.#bySsrc.get(ssrc);
      if (session) session.remote = { address: remote.address, port: remote.port };
    });
    this.udp.on('rtp', (packet) => {
      try {
        handleClientRtp(this.#media, packet);
      } catch (error) {
        this.counters.internalErrors++;
        this.log(`rtp handling failed: ${(error as Error).stack ?? String(error)}`);
      }
    });
    this.udp.on('error', (error) => this.log(`udp error: ${error.message}`));
    this.#media = {
      udp: this.udp,
      sessions: () => this.#sessions,
      bySsrc: (ssrc) => this.#bySsrc.get(ssrc),
      extensions: this.#extensions,
      counters: this.counters,
      headerExtension: this.options.headerExtension,
      log: (m) => this.log(m),
      emitFrame: (f) => this.emit('clientFrame', f),
    };
    this.#heartbeatCheck = setInterval(() => this.#checkHeartbeats(), Math.max(1000, this.options.heartbeatIntervalMs));
    this.#heartbeatCheck.unref();
  }

  static async start(args: { options: VoiceServerOptions; extensions: VoiceServerExtension[]; prng: Prng; log: (m: string) => void; guildId: string; channelId: string }): Promise<VoiceServer> {
    const udp = await VoiceUdp.open(args.options.host, args.options.udpPort);
    const https = createServer({ cert: args.options.cert, key: args.options.key });
    await new Promise<void>((resolve, reject) => {
      https.once('error', reject);
      https.listen(args.options.port, args.options.host, () => resolve());
    });
    const server = new VoiceServer({ ...args, udp, https });
    for (const e of args.extensions) await e.attach?.(server.view());
    return server;
  }

  get port(): number {
    const address = this.#https.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  get udpPort(): number {
    return this.udp.port;
  }

  log(message: string): void {
    this.#log(`[voice] ${message}`);
  }

  view(): VoiceServerView {
    return {
      guildId: this.guildId,
      channelId: this.channelId,
      clients: () => this.sessions(),
      speakers: () => [...this.#speakers.values()],
      usersInChannel: () => [...new Set([...this.sessions().map((s) => s.userId), ...this.#speakers.keys()])],
      log: (m) => this.log(m),
    };
  }

  /** Calls one extension hook on every extension, counting and logging throws. */
  extensionCall(hook: string, call: (e: VoiceServerExtension) => void): void {
    for (const e of this.#extensions) {
      try {
        call(e);
      } catch (error) {
        this.counters.extensionErrors++;
        this.log(`extension ${e.name} ${hook} threw: ${(error as Error).message}`);
      }
    }
  }

  // ---- grants from the main gateway -------------------------------------------------------------

  /** Issues a voice token for a user who joined the channel over the main gateway. */
  grant(userId: string, sessionId: string): string {
    this.revoke(userId, false);
    const token = randomBytes(8).toString('hex');
    this.#grants.set(token, { token, userId, sessionId, guildId: this.guildId });
    return token;
  }

  /** Withdraws a user's voice token (they left) and, when `close`, closes their sessions with 4014. */
  revoke(userId: string, close: boolean): void {
    for (const [token, g] of this.#grants) if (g.userId === userId) this.#grants.delete(token);
    if (close) for (const s of this.sessions()) if (s.userId === userId) this.#endSession(s, VoiceCloseCode.Disconnected);
  }

  checkGrant(token: unknown, userId: unknown, sessionId: unknown, serverId: unknown): Grant | undefined {
    if (typeof token !== 'string') return undefined;
    const g = this.#grants.get(token);
    if (!g || g.userId !== userId || g.sessionId !== sessionId || g.guildId !== serverId) return undefined;
    return g;
  }

  findResumable(sessionId: unknown, token: unknown, serverId: unknown): VoiceSession | undefined {
    if (serverId !== this.guildId) return undefined;
    return this.sessions().find((s) => s.sessionId === sessionId && s.token === token && s.ready);
  }

  // ---- sessions ----------------------------------------------------------------------------------

  sessions(): VoiceSession[] {
    return [...this.#sessions].filter((s) => !s.ended);
  }

  newSsrc(): number {
    for (;;) {
      const ssrc = this.#prng.uint32();
      if (!this.#bySsrc.has(ssrc) && ![...this.#speakers.values()].some((s) => s.ssrc === ssrc)) return ssrc;
    }
  }

  addSession(session: VoiceSession): void {
    this.#sessions.add(session);
    this.#bySsrc.set(session.ssrc, session);
  }

  endSessionsOf(userId: string): void {
    for (const s of this.sessions()) if (s.userId === userId) this.#endSession(s, 1000);
  }

  onSessionReady(session: VoiceSession): void {
    const others = this.view().usersInChannel().filter((id) => id !== session.userId);
    if (others.length > 0) session.sendJson(VoiceOp.ClientsConnect, { user_ids: others });
    for (const other of this.sessions()) {
      if (other !== session && other.ready) other.sendJson(VoiceOp.ClientsConnect, { user_ids: [session.userId] });
    }
    this.extensionCall('onMemberJoin', (e) => e.onMemberJoin?.(session.userId));
    this.extensionCall('onClientReady', (e) => e.onClientReady?.(session));
    for (const userId of this.#talking) {
      const sp = this.#speakers.get(userId);
      if (sp) session.sendJson(VoiceOp.Speaking, { user_id: sp.userId, ssrc: sp.ssrc, speaking: 1 });
    }
    if (this.options.undocumentedOps) sendUndocumentedOps(session, [...this.#speakers.values()], this.sessions());
    this.emit('clientReady', session);
  }

  onSocketClosed(session: VoiceSession, code: number): void {
    session.ws = undefined;
    if (session.ended) return;
    if (session.ready && voiceCloseCodeResumes(code)) {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        if (!session.ws) this.#endSession(session, code);
      }, this.options.resumeWindowMs);
      this.#timers.add(timer);
      return;
    }
    this.#endSession(session, code);
  }

  #endSession(session: VoiceSession, code: number): void {
    if (session.ended) return;
    session.close(code);
    session.ended = true;
    this.#sessions.delete(session);
    if (this.#bySsrc.get(session.ssrc) === session) this.#bySsrc.delete(session.ssrc);
    for (const other of this.sessions()) if (other.ready) other.sendJson(VoiceOp.ClientDisconnect, { user_id: session.userId });
    this.extensionCall('onMemberLeave', (e) => e.onMemberLeave?.(session.userId));
    this.extensionCall('onClientGone', (e) => e.onClientGone?.(session));
    this.emit('clientGone', session);
  }

  #checkHeartbeats(): void {
    const limit = this.options.heartbeatIntervalMs * 3 + 5000;
    for (const s of this.sessions()) {
      if (s.ws && Date.now() - s.lastHeartbeatAt > limit) s.close(VoiceCloseCode.SessionTimeout, 'no heartbeat');
    }
  }

  relaySpeaking(from: VoiceSession, d: Record<string, unknown>): void {
    const speaking = typeof d.speaking === 'number' ? d.speaking : 0;
    for (const other of this.sessions()) {
      if (other !== from && other.ready) other.sendJson(VoiceOp.Speaking, { user_id: from.userId, ssrc: from.ssrc, speaking });
    }
  }

  // ---- speakers ----------------------------------------------------------------------------------

  speakerJoined(speaker: SpeakerHandle): void {
    this.#speakers.set(speaker.userId, speaker);
    for (const s of this.sessions()) if (s.ready) s.sendJson(VoiceOp.ClientsConnect, { user_ids: [speaker.userId] });
    this.extensionCall('onMemberJoin', (e) => e.onMemberJoin?.(speaker.userId));
  }

  speakerLeft(speaker: SpeakerHandle): void {
    this.#speakingDelays.onLeft(speaker);
    this.#speakers.delete(speaker.userId);
    this.#talking.delete(speaker.userId);
    for (const s of this.sessions()) if (s.ready) s.sendJson(VoiceOp.ClientDisconnect, { user_id: speaker.userId });
    this.extensionCall('onMemberLeave', (e) => e.onMemberLeave?.(speaker.userId));
  }

  /**
   * op 5 Speaking to every ready client at the start (1) of a speaker's talk-spurt, unless a delayed
   * op 5 is armed for the speaker ({@link delaySpeaking}): then it goes out that long after the
   * spurt's first packet.
   */
  speakerSpeaking(speaker: SpeakerHandle, speaking: boolean): void {
    if (!speaking) {
      this.#talking.delete(speaker.userId);
      return;
    }
    if (this.#speakingDelays.holdsSpurtStart(speaker)) return;
    this.#announceSpeaking(speaker);
  }

  /**
   * Arms the "late op 5" fault for a speaker's next talk-spurt: its op 5 is sent `delayMs` after the
   * spurt's first packet went out. Resolves when op 5 was sent (or never will be: `sent` false).
   */
  delaySpeaking(speaker: SpeakerHandle, delayMs: number): Promise<DelayedSpeaking> {
    return this.#speakingDelays.arm(speaker, delayMs);
  }

  #announceSpeaking(speaker: SpeakerHandle): void {
    if (!this.#speakers.has(speaker.userId)) return;
    this.#talking.add(speaker.userId);
    for (const s of this.sessions()) if (s.ready) s.sendJson(VoiceOp.Speaking, { user_id: speaker.userId, ssrc: speaker.ssrc, speaking: 1 });
  }

  /**
   * Sends one speaker frame to every ready client. Returns how many clients it went to (0 when UDP is
   * blocked by a fault).
   */
  forwardSpeakerFrame(speaker: SpeakerHandle, rtp: SpeakerRtp, frame: Uint8Array): number {
    const recipients = forwardSpeakerFrame(this.#media, speaker, rtp, frame);
    this.#speakingDelays.onSent(speaker, rtp.sequence, recipients);
    return recipients;
  }

  /** Sends raw bytes to every ready client's UDP address (fault injection). */
  sendRawToClients(packet: Uint8Array): number {
    let sent = 0;
    for (const s of this.sessions()) if (s.ready && s.remote && this.udp.send(packet, s.remote.port, s.remote.address)) sent++;
    return sent;
  }

  /** Encrypts a header + plaintext per client, for faults that need valid crypto (unmapped ssrc). */
  sendSealedToClients(clear: Uint8Array, plain: Uint8Array): number {
    return sendToClients(this.#media, clear, plain, undefined);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#speakingDelays.close();
    clearInterval(this.#heartbeatCheck);
    for (const t of this.#timers) clearTimeout(t);
    for (const s of this.sessions()) s.close(1001, 'stand-in closing');
    for (const c of this.#wss.clients) c.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    this.#https.closeAllConnections();
    await new Promise<void>((resolve) => this.#https.close(() => resolve()));
    this.udp.close();
    for (const e of this.#extensions) {
      try {
        await e.close?.();
      } catch (error) {
        this.log(`extension ${e.name} close threw: ${(error as Error).message}`);
      }
    }
  }
}

export type { VoiceClientHandle, ClientFrame, DelayedSpeaking };
