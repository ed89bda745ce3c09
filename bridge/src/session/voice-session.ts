/**
 * One joined voice channel: the library's VoiceConnection plus our receive path (tap → decrypt →
 * relay / jitter buffer → PCM publisher) and playback (OpusSender). Tracks a clear connection status
 * for `voice.state.connected` (1006/4015 → reconnecting → connected; 4014 → kicked; 4017 →
 * dave_required) and builds the `voice.health` payload.
 */
import { EventEmitter } from 'node:events';
import { VoiceConnectionStatus, type VoiceConnection, type VoiceConnectionState } from '@discordjs/voice';
import type { PayloadOf } from '@promethean/shared';
import { OpusSender, type OpusSenderOptions } from '../audio/opus-sender.ts';
import { DatagramHandler } from '../networking/datagram-handler.ts';
import type { UnmappedHoldOptions } from '../networking/unmapped-hold.ts';
import { VoiceConnectionTap } from '../networking/voice-connection-tap.ts';
import { hrtimeClock, type MonotonicClock } from '../receive/clock.ts';
import { PlayoutTimer, type PlayoutTimerOptions } from '../receive/playout-timer.ts';
import { ReceiveSession, type ReceiveSessionOptions } from '../receive/receive-session.ts';
import type { OpusRelay } from '../receive/relay.ts';
import { PcmPublisher, type PcmPublisherOptions, type PcmSend } from './pcm-publisher.ts';

export type ConnectionStatus = PayloadOf<'voice.state.connected'>['status'];

export interface VoiceSessionOptions {
  /** Jitter buffers are drained when their next frame falls due; this is the backstop while none is. */
  playout: Partial<PlayoutTimerOptions>;
  receive: Partial<ReceiveSessionOptions>;
  /** Bounds of the hold for packets that arrive before their ssrc's Speaking op 5. */
  hold: Partial<UnmappedHoldOptions>;
  publisher: Partial<PcmPublisherOptions>;
  sender: Partial<OpusSenderOptions>;
  clock: MonotonicClock;
}

export const defaultVoiceSessionOptions: VoiceSessionOptions = { playout: {}, receive: {}, hold: {}, publisher: {}, sender: {}, clock: hrtimeClock };

export interface VoiceSessionIds {
  sessionId: string;
  guildId: string;
  channelId: string;
}

export interface VoiceSessionEvents {
  /** The status for `voice.state.connected` changed, or the ssrc map did. */
  state: [];
  /** A user left the voice connection. */
  speakerGone: [userId: string];
}

export class VoiceSession extends EventEmitter<VoiceSessionEvents> {
  readonly ids: VoiceSessionIds;
  readonly options: VoiceSessionOptions;
  readonly connection: VoiceConnection;
  readonly receive: ReceiveSession;
  readonly handler: DatagramHandler;
  readonly tap: VoiceConnectionTap;
  readonly sender: OpusSender;
  readonly publisher: PcmPublisher;
  status: ConnectionStatus = 'reconnecting';
  readonly faults: string[] = [];
  private readonly playout: PlayoutTimer;
  private lastDropped = 0;
  private lastDecryptErrors = 0;
  private lastOverflowed = 0;
  private closed = false;

  constructor(ids: VoiceSessionIds, connection: VoiceConnection, send: PcmSend, backlog: () => number, options: Partial<VoiceSessionOptions> = {}) {
    super();
    this.ids = ids;
    this.options = { ...defaultVoiceSessionOptions, ...options };
    this.connection = connection;
    this.publisher = new PcmPublisher(ids.sessionId, send, backlog, (ssrc) => this.rtpExtra(ssrc), this.options.publisher);
    this.receive = new ReceiveSession((ssrc) => this.tap.resolveUser(ssrc), (f) => this.publisher.push(f), this.options.receive);
    this.handler = new DatagramHandler(this.receive, (ssrc) => this.tap.resolveUser(ssrc), { hold: this.options.hold });
    this.tap = new VoiceConnectionTap(connection, this.handler, this.options.clock);
    this.sender = new OpusSender(connection, this.options.sender);
    this.tap.on('closeCode', (code) => this.onCloseCode(code));
    this.tap.on('ssrcMap', () => this.emit('state'));
    this.tap.on('ssrcRemoved', (ssrc) => this.receive.removeSsrc(ssrc));
    this.tap.on('speakerGone', (userId) => this.emit('speakerGone', userId));
    connection.on('stateChange', this.onConnectionState);
    this.onConnectionState(connection.state, connection.state);
    this.playout = new PlayoutTimer(this.options.clock, () => this.tick(), this.options.playout);
    this.receive.onDue = (dueNs) => this.playout.wake(dueNs);
  }

  addRelay(relay: OpusRelay): () => void {
    return this.receive.addRelay(relay);
  }

  /** Drains jitter buffers into the publisher and the publisher into the bus; returns when the next frame falls due. */
  tick(): bigint | undefined {
    if (this.closed) return undefined;
    const next = this.receive.tick(this.options.clock.now());
    this.publisher.drain();
    return next;
  }

  statePayload(): PayloadOf<'voice.state.connected'> {
    const encryption = this.tap.encryption();
    return {
      guild_id: this.ids.guildId,
      channel_id: this.ids.channelId,
      session_id: this.ids.sessionId,
      ssrc_map: this.tap.ssrcMap(),
      sample_rate: 48000,
      channels: 1,
      frame_hop_ms: 20,
      status: this.status,
      ...(encryption ? { encryption } : {}),
    };
  }

  /**
   * The health payload; DEGRADED when frames were dropped or decrypts failed since the last call.
   * Packets of unmapped ssrcs are only counted: a departed speaker's stragglers end up there too.
   */
  healthPayload(): PayloadOf<'voice.health'> {
    this.handler.expireHeld(this.options.clock.now());
    const speakers = this.receive.snapshot();
    const dropped = this.publisher.dropped;
    const decryptErrors = this.handler.counters.decryptErrors + this.handler.counters.e2eeErrors;
    const faults: string[] = [...this.faults];
    if (dropped > this.lastDropped) faults.push(`bus lagging: dropped ${dropped - this.lastDropped} PCM frames`);
    if (decryptErrors > this.lastDecryptErrors) faults.push(`${decryptErrors - this.lastDecryptErrors} packets failed to decrypt`);
    let overflowed = 0;
    for (const s of this.receive.speakers.values()) overflowed += s.buffer.counters.overflowed;
    if (overflowed > this.lastOverflowed) faults.push(`jitter buffers overflowed: ${overflowed - this.lastOverflowed} packets skipped`);
    this.lastOverflowed = overflowed;
    if (this.status !== 'connected') faults.push(`connection ${this.status}`);
    this.lastDropped = dropped;
    this.lastDecryptErrors = decryptErrors;
    this.faults.length = 0;
    let received = 0, expected = 0, reordered = 0, jitter = 0, skew = 0;
    for (const s of speakers) {
      received += s.received;
      expected += s.expected;
      reordered += s.reordered;
      jitter = Math.max(jitter, s.jitterMs);
      if (Math.abs(s.clockSkewPpm) > Math.abs(skew)) skew = s.clockSkewPpm;
    }
    const lossPct = expected > 0 ? (100 * Math.max(0, expected - received)) / expected : 0;
    return {
      session_id: this.ids.sessionId,
      state: this.closed ? 'STOPPED' : faults.length > 0 ? 'DEGRADED' : 'RUNNING',
      ping_ms: this.tap.pingMs,
      jitter_ms: jitter,
      loss_pct: lossPct,
      reordered,
      clock_skew_ppm: skew,
      queue_depth: this.receive.queueDepth + this.handler.hold.size + this.publisher.depth + this.sender.queued,
      dropped_frames: dropped,
      malformed_packets: this.handler.counters.malformed,
      decrypt_errors: decryptErrors,
      unmapped: this.handler.counters.unmapped,
      held: this.handler.counters.held,
      faults,
      speakers: speakers.map((s) => ({
        user_id: s.userId,
        ssrc: s.ssrc,
        received: s.received,
        lost: s.lost,
        loss_pct: s.lossPct,
        late: s.late,
        reordered: s.reordered,
        concealed: s.concealed,
        jitter_ms: s.jitterMs,
        clock_skew_ppm: s.clockSkewPpm,
        decrypt_errors: s.decryptErrors,
      })),
    };
  }

  /** Ends the session: leaves the channel (destroying the connection) and frees everything. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.playout.close();
    this.receive.onDue = undefined;
    this.connection.off('stateChange', this.onConnectionState);
    this.sender.close();
    this.tap.close();
    this.handler.clearHeld();
    this.receive.close();
    this.publisher.clear();
    if (this.connection.state.status !== VoiceConnectionStatus.Destroyed) this.connection.destroy();
    this.setStatus('disconnected');
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private rtpExtra(ssrc: number): { lost: number; jitter: number } | undefined {
    const s = this.receive.speakers.get(ssrc);
    if (!s) return undefined;
    return { lost: s.stats.lost, jitter: s.stats.jitterMs };
  }

  private onCloseCode(code: number): void {
    this.faults.push(`voice socket closed ${code}`);
    if (code === 4014) this.setStatus('kicked');
    else if (code === 4017) this.setStatus('dave_required');
    else this.setStatus('reconnecting');
  }

  private onConnectionState = (_old: VoiceConnectionState, state: VoiceConnectionState): void => {
    if (state.status === VoiceConnectionStatus.Ready) {
      this.sender.setSink(this.connection);
      this.setStatus('connected');
    } else if (state.status === VoiceConnectionStatus.Destroyed) {
      this.setStatus(this.status === 'kicked' || this.status === 'dave_required' ? this.status : 'disconnected');
    } else if (state.status === VoiceConnectionStatus.Disconnected) {
      if (this.status !== 'kicked' && this.status !== 'dave_required') this.setStatus('disconnected');
    } else if (this.status === 'connected') {
      this.setStatus('reconnecting');
    }
  };

  private setStatus(status: ConnectionStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.emit('state');
  }
}
