/** Handles one voice WebSocket: Hello, Identify / Resume, Select Protocol, heartbeats, client ops. */
import { randomBytes } from 'node:crypto';
import { isEncryptionMode, VoiceCloseCode, VoiceOp } from '@promethean/shared/providers/discord';
import type { RawData, WebSocket } from 'ws';
import type { VoiceServer } from './server.ts';
import { VoiceSession } from './session.ts';

export class VoiceConnection {
  readonly #server: VoiceServer;
  readonly #ws: WebSocket;
  #session: VoiceSession | undefined;

  constructor(server: VoiceServer, ws: WebSocket) {
    this.#server = server;
    this.#ws = ws;
    ws.on('message', (data, isBinary) => {
      try {
        this.#onMessage(data, isBinary);
      } catch (error) {
        server.counters.internalErrors++;
        server.log(`voice message handling failed: ${(error as Error).stack ?? String(error)}`);
      }
    });
    ws.on('close', (code) => this.#onClose(code));
    ws.on('error', () => undefined);
    ws.send(JSON.stringify({ op: VoiceOp.Hello, d: { v: 8, heartbeat_interval: server.options.heartbeatIntervalMs } }));
  }

  #reject(code: number, reason: string): void {
    this.#server.counters.rejected++;
    this.#server.log(`voice ws closed ${code}: ${reason}`);
    if (this.#ws.readyState <= 1) this.#ws.close(code, reason.slice(0, 120));
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (isBinary) {
      const session = this.#session;
      if (!session) return this.#reject(VoiceCloseCode.NotAuthenticated, 'binary message before identify');
      if (buf.length < 1) {
        this.#server.counters.malformedWs++;
        return;
      }
      session.stats.binaryIn++;
      this.#server.extensionCall('onBinary', (e) => e.onBinary?.(session, buf[0] as number, buf.subarray(1)));
      return;
    }
    let packet: { op?: unknown; d?: unknown };
    try {
      packet = JSON.parse(buf.toString('utf8')) as { op?: unknown; d?: unknown };
      if (typeof packet !== 'object' || packet === null || typeof packet.op !== 'number') throw new Error('no numeric op');
    } catch {
      this.#server.counters.malformedWs++;
      return this.#reject(VoiceCloseCode.FailedToDecodePayload, 'payload is not a JSON object with an op');
    }
    const d = (typeof packet.d === 'object' && packet.d !== null ? packet.d : {}) as Record<string, unknown>;
    const op = packet.op;
    if (this.#session) this.#session.stats.jsonIn++;
    if (op === VoiceOp.Identify) return this.#identify(d);
    if (op === VoiceOp.Resume) return this.#resume(d);
    const session = this.#session;
    if (!session) {
      if (op === VoiceOp.Heartbeat) return this.#heartbeat(undefined, d);
      return this.#reject(VoiceCloseCode.NotAuthenticated, `op ${op} before identify`);
    }
    switch (op) {
      case VoiceOp.Heartbeat:
        return this.#heartbeat(session, d);
      case VoiceOp.SelectProtocol:
        return this.#selectProtocol(session, d);
      case VoiceOp.Speaking:
        return this.#server.relaySpeaking(session, d);
      case 16:
        session.sendJson(16, { voice: '0.9.0', rtc_worker: '0.4.11' });
        return;
      default: {
        let handled = false;
        this.#server.extensionCall('onJson', (e) => {
          if (e.onJson?.(session, op, packet.d)) handled = true;
        });
        if (!handled) this.#server.counters.unknownOpsIn++;
      }
    }
  }

  #heartbeat(session: VoiceSession | undefined, d: Record<string, unknown>): void {
    if (session) {
      session.lastHeartbeatAt = Date.now();
      if (typeof d.seq_ack === 'number') session.seqAck = d.seq_ack;
    }
    this.#ws.send(JSON.stringify({ op: VoiceOp.HeartbeatAck, d: { t: d.t ?? Date.now() } }));
  }

  #identify(d: Record<string, unknown>): void {
    if (this.#session) return this.#reject(VoiceCloseCode.AlreadyAuthenticated, 'already identified');
    const grant = this.#server.checkGrant(d.token, d.user_id, d.session_id, d.server_id);
    if (!grant) return this.#reject(VoiceCloseCode.AuthenticationFailed, 'unknown token, user, session or server');
    this.#server.endSessionsOf(grant.userId);
    const session = new VoiceSession({ userId: grant.userId, sessionId: grant.sessionId, token: grant.token, ssrc: this.#server.newSsrc(), identify: d });
    session.ws = this.#ws;
    this.#session = session;
    this.#server.addSession(session);
    this.#server.extensionCall('onIdentify', (e) => e.onIdentify?.(session, d));
    const opts = this.#server.options;
    session.sendJson(VoiceOp.Ready, {
      ssrc: session.ssrc,
      ip: opts.udpAdvertisedIp,
      port: this.#server.udpPort,
      modes: [...opts.modes],
      experiments: ['fixed_keyframe_interval'],
      streams: [],
      heartbeat_interval: 1,
    });
  }

  #resume(d: Record<string, unknown>): void {
    const session = this.#server.findResumable(d.session_id, d.token, d.server_id);
    if (!session) return this.#reject(VoiceCloseCode.SessionNoLongerValid, 'no session to resume');
    const previous = session.ws;
    if (previous && previous !== this.#ws && previous.readyState <= 1) previous.terminate();
    session.ws = this.#ws;
    session.stats.resumes++;
    session.lastHeartbeatAt = Date.now();
    if (typeof d.seq_ack === 'number') session.seqAck = d.seq_ack;
    this.#session = session;
    this.#server.counters.resumes++;
    session.sendJson(VoiceOp.Resumed, null);
  }

  #selectProtocol(session: VoiceSession, d: Record<string, unknown>): void {
    const data = (d.data ?? {}) as Record<string, unknown>;
    if (d.protocol !== 'udp') return this.#reject(VoiceCloseCode.UnknownProtocol, `protocol ${String(d.protocol)} is not udp`);
    const mode = data.mode;
    if (!isEncryptionMode(mode) || !this.#server.options.modes.includes(mode)) {
      return this.#reject(VoiceCloseCode.UnknownEncryptionMode, `mode ${String(mode)} was not offered`);
    }
    if (!session.remote && typeof data.address === 'string' && typeof data.port === 'number') {
      session.remote = { address: data.address, port: data.port };
    }
    session.mode = mode;
    session.secretKey = new Uint8Array(randomBytes(32));
    const extra: Record<string, unknown> = {};
    this.#server.extensionCall('sessionDescription', (e) => Object.assign(extra, e.sessionDescription?.(session) ?? {}));
    session.sendJson(VoiceOp.SessionDescription, {
      mode,
      secret_key: [...session.secretKey],
      audio_codec: 'opus',
      video_codec: 'H264',
      media_session_id: randomBytes(16).toString('hex'),
      dave_protocol_version: this.#server.options.daveProtocolVersion,
      ...extra,
    });
    session.ready = true;
    this.#server.onSessionReady(session);
  }

  #onClose(code: number): void {
    const session = this.#session;
    if (!session || session.ws !== this.#ws) return;
    this.#server.onSocketClosed(session, code);
  }
}
