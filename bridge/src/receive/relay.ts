/**
 * The relay branch: each speaker's Opus packet, decrypted once, handed over on arrival (before any
 * jitter buffer) and never decoded here. The SFU producer implements {@link OpusRelay}; the bridge
 * depends on this interface, not on an SFU.
 */

export interface RelayPacket {
  ssrc: number;
  userId: string;
  /** RTP sequence number (16 bit). */
  seq: number;
  /** RTP timestamp (32 bit, 48 kHz). */
  timestamp: number;
  /** Monotonic arrival time of the UDP datagram. */
  arrivalNs: bigint;
  /** The Opus frame (transport and DAVE encryption removed). A view: copy it to keep it. */
  opus: Uint8Array;
}

export interface OpusRelay {
  /** Called synchronously on arrival; must not block. A throw is caught and counted. */
  relay(packet: RelayPacket): void;
}
