/**
 * Reads a @discordjs/voice VoiceConnection's own UDP socket without patching the library: follows
 * VoiceConnection → Networking → VoiceUDPSocket (a dgram `socket`) across reconnects and resumes,
 * takes the transport keys from the session description, the DAVE session when one is active, and
 * ssrc → user from the library's receiver (Speaking op 5). Datagrams go to a {@link DatagramHandler};
 * when op 5 maps an ssrc, the packets the handler held for it are released at once, before anything
 * else hears of the change. End-to-end decryption goes through a {@link DaveGuard} around the library's
 * DAVE session (passthrough windows, failure counting, recovery by op 31).
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
import { DaveGuard, type DaveGuardOptions } from './dave-guard.ts';
import { watchDaveLibraryErrors } from './dave-errors.ts';
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

/** The fields of a Ready / Resuming networking state this tap reads (all public in the library's typings). */
type LiveNetworkingState = Extract<NetworkingState, { code: NetworkingStatusCode.Ready | NetworkingStatusCode.Resuming }>;

interface NetworkingWithState {
  state: NetworkingState;
  on(event: 'stateChange', l: (o: NetworkingState, n: NetworkingState) => void): unknown;
  on(event: 'close', l: (code: number) => void): unknown;
  off(event: string, l: (...args: never[]) => void): unknown;
}

export class VoiceConnectionTap extends EventEmitter<VoiceConnectionTapEvents> {
  readonly connection: VoiceConnection;
  /** End-to-end (DAVE) decryption, its counters and its recovery. */
  readonly dave: DaveGuard;
  private readonly handler: DatagramHandler;
  private readonly clock: MonotonicClock;
  private networking: NetworkingWithState | undefined;
  private socket: Socket | undefined;
  private closed = false;
  private readonly unwatchDave: () => void;

  constructor(connection: VoiceConnection, handler: DatagramHandler, clock: MonotonicClock, dave: Partial<DaveGuardOptions> = {}) {
    super();
    this.connection = connection;
    this.handler = handler;
    this.clock = clock;
    this.dave = new DaveGuard(() => Number(clock.now() / 1_000_000n), dave);
    this.unwatchDave = watchDaveLibraryErrors(this.dave);
    connection.on('stateChange', this.onConnectionState);
    connection.on('transitioned', this.onTransitioned);
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
    this.connection.off('transitioned', this.onTransitioned);
    const map = this.connection.receiver.ssrcMap;
    map.off('create', this.onSsrcChange);
    map.off('update', this.onSsrcUpdate);
    map.off('delete', this.onSsrcDelete);
    this.bindNetworking(undefined);
    this.unwatchDave();
    this.dave.close();
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
      this.dave.bind(undefined, undefined);
    }
  }

  private onNetworkingState = (_old: NetworkingState, state: NetworkingState): void => {
    const udp = 'udp' in state ? state.udp : undefined;
    // `socket` is private in the typings; it is the dgram socket the library reads itself.
    this.bindSocket(udp ? (udp as unknown as { socket: Socket }).socket : undefined);
    if (state.code === NetworkingStatusCode.Ready || state.code === NetworkingStatusCode.Resuming) {
      const live = state as LiveNetworkingState;
      const { encryptionMode, secretKey } = live.connectionData;
      this.handler.setKeys({ mode: encryptionMode, key: secretKey });
      // With a DAVE session (even at protocol version 0: a transition may upgrade it) every frame goes
      // through the guard, which passes transport-only frames on untouched.
      this.dave.bind(live.dave, live.ws);
      this.handler.setE2ee(live.dave ? this.dave.decrypt : undefined);
      this.emit('keys', true);
    } else if (state.code === NetworkingStatusCode.Closed) {
      this.dave.bind(undefined, undefined);
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

  private onTransitioned = (): void => {
    this.dave.onTransitioned();
  };

  private onSsrcChange = (): void => {
    this.emit('ssrcMap');
  };

  // The library emits `update` for every op 5 (after `create` for a new ssrc).
  private onSsrcUpdate = (old: VoiceUserData | undefined, next: VoiceUserData): void => {
    // a member back on a new ssrc (reconnected) has a new DAVE session: its keys have not arrived yet
    if (old && old.audioSSRC !== next.audioSSRC) this.dave.memberChanged(next.userId);
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
