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
import type { DaveGuardOptions } from '../networking/dave-guard.ts';
import { VoiceConnectionTap } from '../networking/voice-connection-tap.ts';
import { hrtimeClock, type MonotonicClock } from '../receive/clock.ts';
import { PlayoutTimer, type PlayoutTimerOptions } from '../receive/playout-timer.ts';
import { ReceiveSession, type ReceiveSessionOptions } from '../receive/receive-session.ts';
import type { OpusRelay } from '../receive/relay.ts';
import { PcmPublisher, type BusBacklog, type PcmPublisherOptions, type PcmSend } from './pcm-publisher.ts';

export type ConnectionStatus = PayloadOf<'voice.state.connected'>['status'];

export interface VoiceSessionOptions {
  /** Jitter buffers are drained when their next frame falls due; this is the backstop while none is. */
  playout: Partial<PlayoutTimerOptions>;
  receive: Partial<ReceiveSessionOptions>;
  /** Bounds of the hold for packets that arrive before their ssrc's Speaking op 5. */
  hold: Partial<UnmappedHoldOptions>;
  publisher: Partial<PcmPublisherOptions>;
  sender: Partial<OpusSenderOptions>;
  /** End-to-end (DAVE) receive: passthrough window, failure run before the bridge recovers by itself. */
  dave: Partial<DaveGuardOptions>;
  clock: MonotonicClock;
  /**
   * A join that has not connected after this long ends `failed` (the library would wait forever), in
   * ms. Only the first connection is bounded: once connected, the library's own resume and rejoin
   * logic runs as long as it takes (health says `connection reconnecting` meanwhile), so a slow but
   * working recovery is never cut off.
   */
  joinTimeoutMs: number;
  /** Asked when a join fails: why the channel cannot be joined, where Discord's state tells (no CONNECT, full). */
  diagnose: (() => string | undefined) | undefined;
}

export const defaultVoiceSessionOptions: VoiceSessionOptions = { playout: {}, receive: {}, hold: {}, publisher: {}, sender: {}, dave: {}, clock: hrtimeClock, joinTimeoutMs: 20_000, diagnose: undefined };

/**
 * Statuses a session does not leave: the agent releases it (timers, health output) and a new join
 * starts over. (`dave_required` is not one: the library rejoins after 4017, bounded by the reconnect timeout.)
 */
export const TERMINAL_STATUSES: ReadonlySet<ConnectionStatus> = new Set(['kicked', 'failed']);

/** What the voice close codes Discord documents mean, for a failed join's reason. */
const CLOSE_CODE_REASONS: Readonly<Record<number, string>> = {
  4006: 'session no longer valid (4006)',
  4011: 'voice server not found (4011)',
  4014: 'disconnected: kicked, moved, or the channel was deleted (4014)',
  4016: 'unknown encryption mode (4016)',
  4017: 'DAVE end-to-end encryption required (4017)',
  4022: 'call terminated (4022)',
};

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
  /** Why the session failed or ended, where known (`voice.state.connected`'s `reason`). */
  reason: string | undefined;
  /** The last voice WebSocket close code seen. */
  lastCloseCode: number | undefined;
  private failTimer: ReturnType<typeof setTimeout> | undefined;
  private everConnected = false;
  readonly faults: string[] = [];
  private readonly playout: PlayoutTimer;
  private lastDropped = 0;
  private lastDecryptErrors = 0;
  private lastOverflowed = 0;
  private lastDaveRecoveries = 0;
  private lastDaveInvalid = 0;
  private lastDaveLibraryErrors = 0;
  private closed = false;

  constructor(ids: VoiceSessionIds, connection: VoiceConnection, send: PcmSend, backlog: () => BusBacklog, options: Partial<VoiceSessionOptions> = {}) {
    super();
    this.ids = ids;
    this.options = { ...defaultVoiceSessionOptions, ...options };
    this.connection = connection;
    this.publisher = new PcmPublisher(ids.sessionId, send, backlog, (ssrc) => this.rtpExtra(ssrc), this.options.publisher);
    this.receive = new ReceiveSession((ssrc) => this.tap.resolveUser(ssrc), (f) => this.publisher.push(f), this.options.receive);
    this.handler = new DatagramHandler(this.receive, (ssrc) => this.tap.resolveUser(ssrc), { hold: this.options.hold });
    this.tap = new VoiceConnectionTap(connection, this.handler, this.options.clock, this.options.dave);
    this.sender = new OpusSender(connection, this.options.sender);
    this.tap.on('closeCode', (code) => this.onCloseCode(code));
    this.tap.on('ssrcMap', () => this.emit('state'));
    this.tap.on('ssrcRemoved', (ssrc) => this.receive.removeSsrc(ssrc));
    this.tap.on('speakerGone', (userId) => this.emit('speakerGone', userId));
    connection.on('stateChange', this.onConnectionState);
    this.onConnectionState(connection.state, connection.state);
    if (this.status !== 'connected') this.armFailTimer();
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
      ...(this.reason !== undefined ? { reason: this.reason } : {}),
      ...(this.lastCloseCode !== undefined && this.status !== 'connected' ? { close_code: this.lastCloseCode } : {}),
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
    if (this.publisher.lagging) {
      const b = this.publisher.lastBacklog;
      faults.push(`bus lagging: ${b.bufferedBytes} bytes unwritten, ${b.queued} messages queued; ${this.publisher.depth} PCM frames waiting`);
    }
    if (decryptErrors > this.lastDecryptErrors) faults.push(`${decryptErrors - this.lastDecryptErrors} packets failed to decrypt`);
    let overflowed = 0;
    for (const s of this.receive.speakers.values()) overflowed += s.buffer.counters.overflowed;
    if (overflowed > this.lastOverflowed) faults.push(`jitter buffers overflowed: ${overflowed - this.lastOverflowed} packets skipped`);
    this.lastOverflowed = overflowed;
    const dave = this.tap.dave.health();
    if (dave) this.daveFaults(dave, faults);
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
      ...(dave ? { dave } : {}),
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
        playout_delay_ms: s.playoutDelayMs,
        clock_skew_ppm: s.clockSkewPpm,
        decrypt_errors: s.decryptErrors,
        decoded: s.decoded,
      })),
    };
  }

  /** Ends the session: leaves the channel (destroying the connection) and frees everything. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearFailTimer();
    this.playout.close();
    this.receive.onDue = undefined;
    this.connection.off('stateChange', this.onConnectionState);
    this.sender.close();
    this.tap.close();
    this.handler.clearHeld();
    this.receive.close();
    this.publisher.clear();
    if (this.connection.state.status !== VoiceConnectionStatus.Destroyed) this.connection.destroy();
    if (!TERMINAL_STATUSES.has(this.status)) this.setStatus('disconnected');
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Says in health what the DAVE layer did since the last report (recoveries, op 31). */
  private daveFaults(dave: { recoveries: number; invalid_commits: number; epoch: number | null }, faults: string[]): void {
    const log = this.tap.dave.recoveryLog;
    const mine = dave.recoveries - this.lastDaveRecoveries;
    if (mine > 0) {
      const why = log.slice(-mine).map((r) => `${r.reason} after transition ${r.transitionId}`).join(', ');
      faults.push(`DAVE: recovered ${mine}× by op 31 + re-init (${why})`);
    }
    const others = dave.invalid_commits - this.lastDaveInvalid - mine;
    if (others > 0) faults.push(`DAVE: the library sent op 31 ${others}× (a commit or welcome it could not apply)`);
    const thrown = this.tap.dave.counters.libraryErrors - this.lastDaveLibraryErrors;
    if (thrown > 0) faults.push(`DAVE: the library's session threw ${thrown}× on a voice server message (caught)`);
    this.lastDaveLibraryErrors = this.tap.dave.counters.libraryErrors;
    this.lastDaveRecoveries = dave.recoveries;
    this.lastDaveInvalid = dave.invalid_commits;
  }

  private rtpExtra(ssrc: number): { lost: number; jitter: number } | undefined {
    const s = this.receive.speakers.get(ssrc);
    if (!s) return undefined;
    return { lost: s.stats.lost, jitter: s.stats.jitterMs };
  }

  private onCloseCode(code: number): void {
    this.faults.push(`voice socket closed ${code}`);
    this.lastCloseCode = code;
    if (code === 4014) this.reason = CLOSE_CODE_REASONS[4014];
    else if (code === 4017) this.reason = CLOSE_CODE_REASONS[4017];
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

  /** Arms the bound on joining / reconnecting; connecting clears it. */
  private armFailTimer(): void {
    if (this.failTimer || this.closed || this.everConnected) return;
    const ms = this.options.joinTimeoutMs;
    this.failTimer = setTimeout(() => {
      this.failTimer = undefined;
      if (this.closed || this.status === 'connected' || TERMINAL_STATUSES.has(this.status)) return;
      this.fail(`not connected after ${ms} ms`);
    }, ms);
  }

  private clearFailTimer(): void {
    if (this.failTimer) clearTimeout(this.failTimer);
    this.failTimer = undefined;
  }

  /** Ends a join that cannot connect: `failed`, with the best reason known, and the connection destroyed. */
  private fail(what: string): void {
    let cause: string | undefined;
    try {
      cause = this.options.diagnose?.();
    } catch {
      cause = undefined;
    }
    cause ??= this.lastCloseCode !== undefined ? (CLOSE_CODE_REASONS[this.lastCloseCode] ?? `voice socket closed ${this.lastCloseCode}`) : undefined;
    this.reason = cause ? `${what}: ${cause}` : `${what}; Discord gave no reason (no answer to the join)`;
    this.faults.push(`join failed: ${this.reason}`);
    this.setStatus('failed');
    if (this.connection.state.status !== VoiceConnectionStatus.Destroyed) this.connection.destroy();
  }

  private setStatus(status: ConnectionStatus): void {
    if (status === this.status) return;
    if (TERMINAL_STATUSES.has(this.status) && status !== 'connected') return; // stays terminal (a rejoin may still connect after 4017)
    if (status === 'connected') {
      this.everConnected = true;
      this.reason = undefined;
      this.clearFailTimer();
    } else if (status === 'reconnecting' || status === 'disconnected' || status === 'dave_required') this.armFailTimer();
    else this.clearFailTimer();
    this.status = status;
    this.emit('state');
  }
}
