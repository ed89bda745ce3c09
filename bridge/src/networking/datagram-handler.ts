/**
 * Turns UDP datagrams from the voice socket into decrypted Opus packets for a {@link ReceiveSession}:
 * RTP check → ssrc → user → transport AEAD (rtpsize) → DAVE (when a session is active). Every failure
 * is counted; nothing thrown here reaches the socket, and one bad packet never ends a speaker's stream.
 */
import { isEncryptionMode, RtpSizeDecryptor, RTP_PAYLOAD_TYPE_OPUS, type EncryptionMode } from '@promethean/shared/providers/discord';
import type { DecryptedPacket } from '../receive/receive-session.ts';
import type { ReceiveSession } from '../receive/receive-session.ts';

export interface TransportKeys {
  mode: EncryptionMode;
  key: Uint8Array;
}

/**
 * End-to-end (DAVE) decryption of one frame from `userId`. Returns the Opus frame, or null when the
 * frame must be dropped (for example during a transition). May throw; the handler counts it.
 */
export type E2eeDecrypt = (userId: string, frame: Uint8Array) => Uint8Array | null;

export interface DatagramCounters {
  datagrams: number;
  /** Not RTP Opus: keep-alive echoes, IP discovery, RTCP. */
  ignored: number;
  malformed: number;
  decryptErrors: number;
  e2eeErrors: number;
  /** Audio before the session description gave us keys. */
  noKeys: number;
  unmapped: number;
}

export class DatagramHandler {
  readonly counters: DatagramCounters = { datagrams: 0, ignored: 0, malformed: 0, decryptErrors: 0, e2eeErrors: 0, noKeys: 0, unmapped: 0 };
  private decryptor: RtpSizeDecryptor | undefined;
  /** Handed to the session on every packet (it reads the fields and keeps none of the object). */
  private readonly packet: DecryptedPacket = { ssrc: 0, seq: 0, timestamp: 0, opus: new Uint8Array(0) };
  private e2ee: E2eeDecrypt | undefined;
  private readonly session: ReceiveSession;
  private readonly resolveUser: (ssrc: number) => string | undefined;

  constructor(session: ReceiveSession, resolveUser: (ssrc: number) => string | undefined) {
    this.session = session;
    this.resolveUser = resolveUser;
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
    const userId = this.resolveUser(ssrc);
    if (userId === undefined) {
      this.counters.unmapped++;
      this.session.counters.unmapped++;
      return;
    }
    const decryptor = this.decryptor;
    if (!decryptor) {
      this.counters.noKeys++;
      return;
    }
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
