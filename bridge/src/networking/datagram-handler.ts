/**
 * Turns UDP datagrams from the voice socket into decrypted Opus packets for a {@link ReceiveSession}:
 * RTP check → transport AEAD (rtpsize) → ssrc → user → DAVE (when a session is active). A packet whose
 * ssrc has no user yet (its Speaking op 5 is still on the way) waits in an {@link UnmappedHold}, with
 * its end-to-end layer still on (DAVE keys are per user), and goes through DAVE and on to the session
 * when the mapping appears ({@link DatagramHandler.releaseMapped}). Every failure is counted; nothing
 * thrown here reaches the socket, and one bad packet never ends a speaker's stream.
 */
import { isEncryptionMode, RtpSizeDecryptor, RTP_PAYLOAD_TYPE_OPUS, type EncryptionMode } from '@promethean/shared/providers/discord';
import type { DecryptedPacket } from '../receive/receive-session.ts';
import type { ReceiveSession } from '../receive/receive-session.ts';
import { UnmappedHold, type HeldPacket, type UnmappedHoldOptions } from './unmapped-hold.ts';

export interface TransportKeys {
  mode: EncryptionMode;
  key: Uint8Array;
}

/**
 * End-to-end (DAVE) decryption of one frame from `userId`. Returns the Opus frame, or null when the
 * frame must be dropped (for example during a transition). May throw; the handler counts it.
 */
export type E2eeDecrypt = (userId: string, frame: Uint8Array) => Uint8Array | null;

export interface DatagramHandlerOptions {
  /** Bounds of the hold for packets that arrive before their ssrc's op 5. */
  hold: Partial<UnmappedHoldOptions>;
}

export const defaultDatagramHandlerOptions: DatagramHandlerOptions = { hold: {} };

export interface DatagramCounters {
  datagrams: number;
  /** Not RTP Opus: keep-alive echoes, IP discovery, RTCP. */
  ignored: number;
  malformed: number;
  decryptErrors: number;
  e2eeErrors: number;
  /** Audio before the session description gave us keys. */
  noKeys: number;
  /** Packets of an ssrc with no user that were dropped: aged out of the hold or pushed out by its bounds. */
  unmapped: number;
  /** Packets that waited in the hold for their ssrc's op 5 and were then delivered. */
  held: number;
}

export class DatagramHandler {
  readonly counters: DatagramCounters = { datagrams: 0, ignored: 0, malformed: 0, decryptErrors: 0, e2eeErrors: 0, noKeys: 0, unmapped: 0, held: 0 };
  /** Packets of ssrcs not mapped yet. */
  readonly hold: UnmappedHold;
  private decryptor: RtpSizeDecryptor | undefined;
  /** Handed to the session on every packet (it reads the fields and keeps none of the object). */
  private readonly packet: DecryptedPacket = { ssrc: 0, seq: 0, timestamp: 0, opus: new Uint8Array(0) };
  private e2ee: E2eeDecrypt | undefined;
  private readonly session: ReceiveSession;
  private readonly resolveUser: (ssrc: number) => string | undefined;
  private readonly deliverHeld = (p: HeldPacket): void => {
    const userId = this.resolveUser(p.ssrc);
    if (userId === undefined) {
      // not reached (only mapped ssrcs are released); counted rather than lost silently
      this.counters.unmapped++;
      this.session.counters.unmapped++;
      return;
    }
    this.counters.held++;
    this.deliver(p.ssrc, userId, p.seq, p.timestamp, p.payload, p.arrivalNs);
  };

  constructor(session: ReceiveSession, resolveUser: (ssrc: number) => string | undefined, options: Partial<DatagramHandlerOptions> = {}) {
    this.session = session;
    this.resolveUser = resolveUser;
    this.hold = new UnmappedHold({ ...defaultDatagramHandlerOptions.hold, ...options.hold });
    this.hold.onDrop = (n) => {
      this.counters.unmapped += n;
      this.session.counters.unmapped += n;
    };
  }

  /** Keys from the session description (op 4); undefined while (re)connecting. */
  setKeys(keys: { mode: string; key: Uint8Array } | undefined): void {
    if (keys && !isEncryptionMode(keys.mode)) throw new RangeError(`unsupported encryption mode ${keys.mode}`);
    this.decryptor = keys ? new RtpSizeDecryptor(keys.mode as EncryptionMode, keys.key) : undefined;
  }

  setE2ee(decrypt: E2eeDecrypt | undefined): void {
    this.e2ee = decrypt;
  }

  /** Handles one datagram. Never throws. */
  handle(datagram: Uint8Array, arrivalNs: bigint): void {
    this.counters.datagrams++;
    if (datagram.byteLength < 12 || datagram[0]! >> 6 !== 2) {
      // keep-alive echoes (8 bytes) and IP discovery (type 0x0002) are not RTP
      if (datagram.byteLength === 8 || datagram.byteLength === 74) this.counters.ignored++;
      else this.malformed();
      return;
    }
    if ((datagram[1]! & 0x7f) !== RTP_PAYLOAD_TYPE_OPUS) {
      this.counters.ignored++; // RTCP and other payload types
      return;
    }
    const ssrc = ((datagram[8]! << 24) | (datagram[9]! << 16) | (datagram[10]! << 8) | datagram[11]!) >>> 0;
    const hold = this.hold;
    if (hold.size > 0) hold.expire(arrivalNs);
    const decryptor = this.decryptor;
    if (!decryptor) {
      this.counters.noKeys++;
      return;
    }
    // The transport layer needs no user: remove it now, so that only authentic packets are held.
    let seq: number, timestamp: number, payload: Uint8Array;
    try {
      const d = decryptor.decrypt(datagram);
      seq = d.sequence;
      timestamp = d.timestamp;
      payload = d.payload;
    } catch (error) {
      if ((error as Error).name === 'RtpParseError') this.malformed();
      else {
        this.counters.decryptErrors++;
        this.session.onDecryptError(ssrc);
      }
      return;
    }
    const userId = this.resolveUser(ssrc);
    if (userId === undefined) {
      hold.hold(ssrc, seq, timestamp, payload, arrivalNs);
      return;
    }
    // Mapped, but the map-change hand-back has not run yet: its held packets go first, in order.
    if (hold.size > 0 && hold.has(ssrc)) hold.release(ssrc, arrivalNs, this.deliverHeld);
    this.deliver(ssrc, userId, seq, timestamp, payload, arrivalNs);
  }

  /**
   * The ssrc → user map changed (Speaking op 5): held packets of every ssrc that now has a user go
   * through DAVE and on to the session, oldest first; those older than the hold's age limit by
   * `nowNs` are dropped and counted. Returns how many were delivered. Never throws.
   */
  releaseMapped(nowNs: bigint): number {
    const hold = this.hold;
    if (hold.size === 0) return 0;
    let n = 0;
    try {
      hold.expire(nowNs);
      for (const ssrc of hold.ssrcs()) {
        if (this.resolveUser(ssrc) !== undefined) n += hold.release(ssrc, nowNs, this.deliverHeld);
      }
    } catch {
      // deliver() catches everything it calls; a bug here must not reach the library's WebSocket handler
    }
    return n;
  }

  /** Drops held packets that aged out by `nowNs` (so the counts are current when health is read). */
  expireHeld(nowNs: bigint): void {
    if (this.hold.size > 0) this.hold.expire(nowNs);
  }

  /** Drops everything held (the session ends); counted as unmapped. */
  clearHeld(): void {
    this.hold.clear();
  }

  /** DAVE (when active), then the session: relay first, then the PCM branch. */
  private deliver(ssrc: number, userId: string, seq: number, timestamp: number, payload: Uint8Array, arrivalNs: bigint): void {
    if (this.e2ee) {
      try {
        const plain = this.e2ee(userId, payload);
        if (plain === null) {
          this.counters.e2eeErrors++;
          this.session.onDecryptError(ssrc);
          return;
        }
        payload = plain;
      } catch {
        this.counters.e2eeErrors++;
        this.session.onDecryptError(ssrc);
        return;
      }
    }
    const p = this.packet;
    p.ssrc = ssrc;
    p.seq = seq;
    p.timestamp = timestamp;
    p.opus = payload;
    this.session.onPacket(p, arrivalNs);
  }

  private malformed(): void {
    this.counters.malformed++;
    this.session.onMalformed();
  }
}
