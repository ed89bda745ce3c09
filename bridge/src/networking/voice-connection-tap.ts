/**
 * Reads a @discordjs/voice VoiceConnection's own UDP socket without patching the library: follows
 * VoiceConnection → Networking → VoiceUDPSocket (a dgram `socket`) across reconnects and resumes,
 * takes the transport keys from the session description, the DAVE session when one is active, and
 * ssrc → user from the library's receiver (Speaking op 5). Datagrams go to a {@link DatagramHandler};
 * when op 5 maps an ssrc, the packets the handler held for it are released at once, before anything
 * else hears of the change.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:dgram';
import {
  NetworkingStatusCode,
  VoiceConnectionStatus,
  type Networking,
  type NetworkingState,
  type VoiceConnection,
  type VoiceConnectionState,
  type VoiceUserData,
} from '@discordjs/voice';
import type { DatagramHandler } from './datagram-handler.ts';
import type { MonotonicClock } from '../receive/clock.ts';

export interface VoiceConnectionTapEvents {
  /** The voice WebSocket closed with this code (4014 kicked, 4015 resume, 4017 DAVE required…). */
  closeCode: [code: number];
  /** The ssrc map changed (Speaking op 5 or Client Disconnect op 13). */
  ssrcMap: [];
  /** A speaker's ssrc left the map; its stream should end. */
  ssrcRemoved: [ssrc: number];
  /** A user left the voice connection (op 13): their relayed stream ends. */
  speakerGone: [userId: string];
  /** Keys arrived (Ready) or were lost (reconnecting). */
  keys: [ready: boolean];
}

interface NetworkingWithState {
  state: NetworkingState;
  on(event: 'stateChange', l: (o: NetworkingState, n: NetworkingState) => void): unknown;
  on(event: 'close', l: (code: number) => void): unknown;
  off(event: string, l: (...args: never[]) => void): unknown;
}

export class VoiceConnectionTap extends EventEmitter<VoiceConnectionTapEvents> {
  readonly connection: VoiceConnection;
  private readonly handler: DatagramHandler;
  private readonly clock: MonotonicClock;
  private networking: NetworkingWithState | undefined;
  private socket: Socket | undefined;
  private closed = false;

  constructor(connection: VoiceConnection, handler: DatagramHandler, clock: MonotonicClock) {
    super();
    this.connection = connection;
    this.handler = handler;
    this.clock = clock;
    connection.on('stateChange', this.onConnectionState);
    const map = connection.receiver.ssrcMap;
    map.on('create', this.onSsrcChange);
    map.on('update', this.onSsrcUpdate);
    map.on('delete', this.onSsrcDelete);
    this.onConnectionState(connection.state, connection.state);
  }

  /** The user speaking on `ssrc`, from the library's map. */
  resolveUser = (ssrc: number): string | undefined => this.connection.receiver.ssrcMap.get(ssrc)?.userId;

  /** ssrc (decimal string) → user id, for `voice.state.connected`. */
  ssrcMap(): Record<string, string> {
    const out: Record<string, string> = {};
    const map = (this.connection.receiver.ssrcMap as unknown as { map: Map<number, VoiceUserData> }).map;
    if (map instanceof Map) for (const [ssrc, data] of map) out[String(ssrc)] = data.userId;
    return out;
  }

  /** The voice WebSocket heartbeat round trip in ms, when known. */
  get pingMs(): number | null {
    return this.connection.ping.ws ?? null;
  }

  /** Mode and DAVE version of the current session, when Ready. */
  encryption(): { mode: string; dave_protocol_version: number } | undefined {
    const s = this.networking?.state;
    if (!s || (s.code !== NetworkingStatusCode.Ready && s.code !== NetworkingStatusCode.Resuming)) return undefined;
    return { mode: s.connectionData.encryptionMode, dave_protocol_version: s.dave?.protocolVersion ?? 0 };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connection.off('stateChange', this.onConnectionState);
    const map = this.connection.receiver.ssrcMap;
    map.off('create', this.onSsrcChange);
    map.off('update', this.onSsrcUpdate);
    map.off('delete', this.onSsrcDelete);
    this.bindNetworking(undefined);
  }

  private onConnectionState = (_old: VoiceConnectionState, state: VoiceConnectionState): void => {
    if (this.closed) return;
    const networking =
      state.status === VoiceConnectionStatus.Connecting || state.status === VoiceConnectionStatus.Ready
        ? (state.networking as unknown as NetworkingWithState)
        : undefined;
    if (networking !== undefined || state.status === VoiceConnectionStatus.Destroyed) this.bindNetworking(networking);
  };

  private bindNetworking(networking: NetworkingWithState | undefined): void {
    if (networking === this.networking) return;
    if (this.networking) {
      this.networking.off('stateChange', this.onNetworkingState);
      this.networking.off('close', this.onNetworkingClose);
    }
    this.networking = networking;
    if (networking) {
      networking.on('stateChange', this.onNetworkingState);
      networking.on('close', this.onNetworkingClose);
      this.onNetworkingState(networking.state, networking.state);
    } else {
      this.bindSocket(undefined);
      this.handler.setKeys(undefined);
    }
  }

  private onNetworkingState = (_old: NetworkingState, state: NetworkingState): void => {
    const udp = 'udp' in state ? state.udp : undefined;
    // `socket` is private in the typings; it is the dgram socket the library reads itself.
    this.bindSocket(udp ? (udp as unknown as { socket: Socket }).socket : undefined);
    if (state.code === NetworkingStatusCode.Ready || state.code === NetworkingStatusCode.Resuming) {
      const { encryptionMode, secretKey } = state.connectionData;
      this.handler.setKeys({ mode: encryptionMode, key: secretKey });
      const dave = state.dave;
      this.handler.setE2ee(
        dave && dave.protocolVersion > 0
          ? (userId, frame) => dave.decrypt(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength), userId)
          : undefined,
      );
      this.emit('keys', true);
    } else if (state.code === NetworkingStatusCode.Closed) {
      this.handler.setKeys(undefined);
      this.emit('keys', false);
    }
  };

  private onNetworkingClose = (code: number): void => {
    this.emit('closeCode', code);
  };

  private bindSocket(socket: Socket | undefined): void {
    if (socket === this.socket) return;
    this.socket?.off('message', this.onMessage);
    this.socket = socket;
    socket?.on('message', this.onMessage);
  }

  private onMessage = (msg: Buffer): void => {
    this.handler.handle(msg, this.clock.now());
  };

  private onSsrcChange = (): void => {
    this.emit('ssrcMap');
  };

  // The library emits `update` for every op 5 (after `create` for a new ssrc).
  private onSsrcUpdate = (old: VoiceUserData | undefined, next: VoiceUserData): void => {
    this.handler.releaseMapped(this.clock.now());
    if (old && old.audioSSRC !== next.audioSSRC) this.emit('ssrcRemoved', old.audioSSRC);
    this.emit('ssrcMap');
  };

  private onSsrcDelete = (data: VoiceUserData): void => {
    this.emit('ssrcRemoved', data.audioSSRC);
    this.emit('speakerGone', data.userId);
    this.emit('ssrcMap');
  };
}

export type { Networking };
