/**
 * The body of every driver's test receiver: a werift RTCPeerConnection in the test process standing in
 * for the browser, on loopback only, that applies an offer, answers it (non-trickle: werift's
 * setLocalDescription completes gathering first) and records each m-line's RTP. A driver says which
 * offers it takes, the SDP an offer stands for, and the answer to give back. Not used in production.
 */
import { RTCPeerConnection, type MediaStreamTrack, type RTCRtpCodecParameters } from 'werift';
import type { ReceivedPacket, SfuTestReceiver } from './testing.ts';
import type { SfuAnswer, SfuOffer } from './types.ts';

export interface PeerReceiverOptions<O extends SfuOffer, A extends SfuAnswer> {
  /** Named in the error for an offer of another kind. */
  name: string;
  /** The offers it takes. */
  kind: O['kind'];
  /** The one audio codec the peer receives. */
  codec: RTCRtpCodecParameters;
  /** The SDP offer that `offer` stands for. */
  offerSdp: (offer: O) => string;
  /** The answer for `listener.answer()`, from the offer and the peer's SDP answer. */
  answer: (offer: O, sdp: string) => A;
}

export function createPeerReceiver<O extends SfuOffer, A extends SfuAnswer>(options: PeerReceiverOptions<O, A>): SfuTestReceiver<A> {
  const pc = new RTCPeerConnection({
    codecs: { audio: [options.codec], video: [] },
    iceServers: [],
    // Loopback only, like a browser on the same machine given the SFU's 127.0.0.1 candidate.
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceInterfaceAddresses: { udp4: '127.0.0.1' },
  });
  const byMid = new Map<string, ReceivedPacket[]>();
  const subscribed = new WeakSet<MediaStreamTrack>();
  pc.onTrack.subscribe((track) => {
    // werift fires ontrack again when an inactive m-line becomes active; subscribe once per track.
    if (subscribed.has(track)) return;
    subscribed.add(track);
    const transceiver = pc.getTransceivers().find((t) => t.receiver.track === track);
    track.onReceiveRtp.subscribe((rtp) => {
      const mid = transceiver?.mid;
      if (mid == null) return;
      let list = byMid.get(mid);
      if (!list) byMid.set(mid, (list = []));
      list.push({
        payload: Uint8Array.from(rtp.payload),
        sequenceNumber: rtp.header.sequenceNumber,
        timestamp: rtp.header.timestamp,
        marker: rtp.header.marker,
      });
    });
  });
  let closed = false;
  return {
    async accept(offer: SfuOffer): Promise<A> {
      if (offer?.kind !== options.kind) throw new Error(`the ${options.name} receiver takes ${options.kind} offers, not ${String((offer as { kind?: unknown })?.kind)}`);
      await pc.setRemoteDescription({ type: 'offer', sdp: options.offerSdp(offer as O) });
      await pc.setLocalDescription(await pc.createAnswer());
      const sdp = pc.localDescription?.sdp;
      if (!sdp) throw new Error('werift produced no answer');
      return options.answer(offer as O, sdp);
    },
    received(mid: string): ReceivedPacket[] {
      return byMid.get(mid) ?? [];
    },
    get connectionState(): string {
      return pc.connectionState;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await pc.close();
    },
  };
}
