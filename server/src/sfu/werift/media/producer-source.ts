/**
 * One producer inside the media process: a local werift track fed with the RTP that arrives on the
 * ingest with this producer's ssrc. Each listener sends a clone of the track (clones share werift's
 * broadcast source, so one write reaches every listener); werift's sender then rewrites ssrc and
 * payload type to the negotiated ones and keeps sequence numbers and timestamps.
 */
import { MediaStreamTrack, RtpHeader, RtpPacket } from 'werift';
import type { RtpHeaderView } from '../../rtp-header.ts';
import type { SfuProducerStats } from '../../types.ts';

export class ProducerSource {
  readonly id: string;
  readonly routerId: string;
  readonly userId: string;
  readonly ssrc: number;
  /** Packets with another payload type are refused; `null`: any. */
  readonly payloadType: number | null;
  readonly track = new MediaStreamTrack({ kind: 'audio' });
  readonly stats: SfuProducerStats = { packets: 0, bytes: 0, lastPacketAt: null };
  closed = false;

  constructor(init: { id: string; routerId: string; userId: string; ssrc: number; payloadType: number | null }) {
    this.id = init.id;
    this.routerId = init.routerId;
    this.userId = init.userId;
    this.ssrc = init.ssrc;
    this.payloadType = init.payloadType;
  }

  /** A fresh track for one listener's sender, fed by this source until the source stops. */
  cloneTrack(): MediaStreamTrack {
    return this.track.clone();
  }

  /**
   * Forwards one ingest datagram. The payload (between header extension and padding) goes on as is;
   * header extensions are dropped (their ids mean nothing in the negotiated session), CSRCs kept.
   */
  deliver(datagram: Buffer, header: RtpHeaderView): void {
    if (this.closed) return;
    this.stats.packets++;
    this.stats.bytes += datagram.length;
    this.stats.lastPacketAt = Date.now();
    const rtpHeader = new RtpHeader({
      marker: header.marker,
      payloadType: header.payloadType,
      sequenceNumber: header.sequenceNumber,
      timestamp: header.timestamp,
      ssrc: header.ssrc,
      csrc: header.csrc,
      csrcLength: header.csrc.length,
    });
    this.track.writeRtp(new RtpPacket(rtpHeader, datagram.subarray(header.payloadOffset, header.payloadEnd)));
  }

  /** Stops the source and every listener's clone. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.track.stopMediaSource();
  }
}
