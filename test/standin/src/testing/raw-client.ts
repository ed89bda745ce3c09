/**
 * RawVoiceClient — a minimal protocol client for tests that need to see the wire directly (close
 * codes, seq, undocumented ops, every datagram). It is not discord.js: the end-to-end tests use the
 * real discord.js; this one drives the same protocol by hand with the shared wire helpers.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import {
  buildIpDiscoveryRequest,
  buildRtpHeader,
  decryptRtpSize,
  encryptRtpSize,
  GatewayOp,
  isIpDiscovery,
  NonceCounter,
  parseIpDiscovery,
  parseRtpHeader,
  VoiceOp,
} from '@promethean/shared/providers/discord';
import type { EncryptionMode, RtpHeader } from '@promethean/shared/providers/discord';

export interface ReceivedPacket {
  header: RtpHeader;
  payload: Uint8Array | undefined;
  at: number;
  raw: Buffer;
  error: string | undefined;
}

export interface RawClientOptions {
  gatewayUrl: string;
  certPath: string;
  guildId: string;
  channelId: string;
  token?: string;
  /** Preferred mode; must be offered. */
  mode?: EncryptionMode;
}

function once<T>(ws: WebSocket, pred: (m: Record<string, unknown>) => T | undefined, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.off('message', on);
      reject(new Error('timed out waiting for a message'));
    }, timeoutMs);
    const on = (data: WebSocket.RawData, binary: boolean) => {
      if (binary) return;
      const v = pred(JSON.parse(data.toString()) as Record<string, unknown>);
      if (v !== undefined) {
        clearTimeout(timer);
        ws.off('message', on);
        resolve(v);
      }
    };
    ws.on('message', on);
  });
}

export class RawVoiceClient {
  readonly messages: Record<string, unknown>[] = [];
  readonly binary: Buffer[] = [];
  readonly packets: ReceivedPacket[] = [];
  userId = '';
  ssrc = 0;
  mode: EncryptionMode | undefined;
  key: Uint8Array | undefined;
  closeCode: number | undefined;
  #gw: WebSocket | undefined;
  #voice: WebSocket | undefined;
  #udp: Socket | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #nonce = new NonceCounter();
  #seq = 0;
  #ts = 0;
  #remote = { address: '', port: 0 };
  #closed: Promise<number> | undefined;

  static async connect(options: RawClientOptions): Promise<RawVoiceClient> {
    const c = new RawVoiceClient();
    await c.#connect(options);
    return c;
  }

  async #connect(o: RawClientOptions): Promise<void> {
    const gw = new WebSocket(`${o.gatewayUrl}?v=10&encoding=json`);
    this.#gw = gw;
    await once(gw, (m) => (m.op === GatewayOp.Hello ? true : undefined));
    gw.send(JSON.stringify({ op: GatewayOp.Identify, d: { token: o.token ?? 'raw-client-token', intents: 0, properties: {} } }));
    const ready = await once(gw, (m) => (m.t === 'READY' ? (m.d as { session_id: string; user: { id: string } }) : undefined));
    this.userId = ready.user.id;
    const serverUpdate = once(gw, (m) => (m.t === 'VOICE_SERVER_UPDATE' ? (m.d as { token: string; endpoint: string }) : undefined));
    gw.send(JSON.stringify({ op: GatewayOp.VoiceStateUpdate, d: { guild_id: o.guildId, channel_id: o.channelId, self_mute: false, self_deaf: false } }));
    const server = await serverUpdate;
    const voice = new WebSocket(`wss://${server.endpoint}?v=8`, { ca: readFileSync(o.certPath) });
    this.#voice = voice;
    voice.on('message', (data, binary) => {
      if (binary) this.binary.push(Buffer.from(data as Buffer));
      else this.messages.push(JSON.parse(data.toString()) as Record<string, unknown>);
    });
    voice.on('error', () => undefined);
    this.#closed = new Promise((resolve) => voice.once('close', (code) => {
      this.closeCode = code;
      resolve(code);
    }));
    const hello = once(voice, (m) => (m.op === VoiceOp.Hello ? (m.d as { heartbeat_interval: number }) : undefined));
    const readyP = once(voice, (m) => (m.op === VoiceOp.Ready ? (m.d as { ssrc: number; ip: string; port: number; modes: string[] }) : undefined));
    await new Promise<void>((resolve, reject) => {
      voice.once('open', () => resolve());
      voice.once('error', reject);
    });
    voice.send(JSON.stringify({ op: VoiceOp.Identify, d: { server_id: o.guildId, user_id: this.userId, session_id: ready.session_id, token: server.token, max_dave_protocol_version: 0 } }));
    const { heartbeat_interval } = await hello;
    this.#heartbeat = setInterval(() => voice.readyState === 1 && voice.send(JSON.stringify({ op: VoiceOp.Heartbeat, d: { t: Date.now(), seq_ack: this.lastSeq } })), heartbeat_interval);
    const vr = await readyP;
    this.ssrc = vr.ssrc;
    this.#remote = { address: vr.ip, port: vr.port };
    const udp = createSocket('udp4');
    this.#udp = udp;
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()));
    const discovered = new Promise<{ address: string; port: number }>((resolve) => {
      const on = (msg: Buffer) => {
        if (isIpDiscovery(msg)) {
          udp.off('message', on);
          resolve(parseIpDiscovery(msg));
        }
      };
      udp.on('message', on);
    });
    udp.send(buildIpDiscoveryRequest(this.ssrc), vr.port, vr.ip);
    const local = await discovered;
    udp.on('message', (msg) => this.#onUdp(msg));
    const mode = o.mode ?? (vr.modes[0] as EncryptionMode);
    const sd = once(voice, (m) => (m.op === VoiceOp.SessionDescription ? (m.d as { mode: EncryptionMode; secret_key: number[] }) : undefined));
    voice.send(JSON.stringify({ op: VoiceOp.SelectProtocol, d: { protocol: 'udp', data: { address: local.address, port: local.port, mode } } }));
    const desc = await sd;
    this.mode = desc.mode;
    this.key = new Uint8Array(desc.secret_key);
  }

  /** The highest `seq` seen on voice JSON messages. */
  get lastSeq(): number {
    return this.messages.reduce((m, x) => (typeof x.seq === 'number' ? Math.max(m, x.seq) : m), -1);
  }

  #onUdp(msg: Buffer): void {
    if (msg.length <= 8) return;
    let header: RtpHeader;
    try {
      header = parseRtpHeader(msg);
    } catch (error) {
      this.packets.push({ header: { ssrc: -1 } as RtpHeader, payload: undefined, at: performance.now(), raw: msg, error: (error as Error).name });
      return;
    }
    let payload: Uint8Array | undefined;
    let error: string | undefined;
    try {
      payload = decryptRtpSize(this.mode as EncryptionMode, this.key as Uint8Array, msg).payload;
    } catch (e) {
      error = (e as Error).name;
    }
    this.packets.push({ header, payload, at: performance.now(), raw: msg, error });
  }

  sendJson(op: number, d: unknown): void {
    this.#voice?.send(JSON.stringify({ op, d }));
  }

  /** Sends one Opus frame as this client's RTP (speaking op 5 first when `speaking`). */
  sendOpus(frame: Uint8Array): void {
    const { clear } = buildRtpHeader({ sequence: this.#seq++, timestamp: (this.#ts += 960), ssrc: this.ssrc });
    this.#udp?.send(encryptRtpSize(this.mode as EncryptionMode, this.key as Uint8Array, clear, frame, this.#nonce.next()), this.#remote.port, this.#remote.address);
  }

  /** Sends a binary voice message `u8 op | payload` (client → server framing). */
  sendBinary(op: number, payload: Uint8Array): void {
    this.#voice?.send(Buffer.concat([Uint8Array.of(op), payload]));
  }

  /** Sends arbitrary text on the voice socket (malformed-input tests). */
  sendText(text: string): void {
    this.#voice?.send(text);
  }

  sendRawUdp(bytes: Uint8Array): void {
    this.#udp?.send(bytes, this.#remote.port, this.#remote.address);
  }

  /** Resolves with the voice socket's close code. */
  closed(): Promise<number> {
    return this.#closed ?? Promise.resolve(-1);
  }

  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    this.#voice?.terminate();
    this.#gw?.terminate();
    try {
      this.#udp?.close();
    } catch {
      // closed
    }
  }
}
