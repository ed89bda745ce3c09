/**
 * The conformance suite's receiver for drivers that speak SDP: a werift RTCPeerConnection in the test
 * process, standing in for the browser. It answers the SFU's offer (non-trickle: werift's
 * setLocalDescription completes gathering first) and records each m-line's RTP.
 */
import { RTCPeerConnection, type MediaStreamTrack } from 'werift';
import type { SfuTestReceiver } from '../testing.ts';
import type { ReceivedPacket } from '../testing.ts';
import type { SfuOffer, SfuSdpAnswer } from '../types.ts';
import { opusCodec } from './media/peer-config.ts';

export async function createWeriftReceiver(): Promise<SfuTestReceiver<SfuSdpAnswer>> {
  const pc = new RTCPeerConnection({
    codecs: { audio: [opusCodec()], video: [] },
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
    async accept(offer: SfuOffer): Promise<SfuSdpAnswer> {
      if (offer.kind !== 'sdp') throw new Error(`the werift receiver takes SDP offers, not ${String((offer as { kind: unknown }).kind)}`);
      await pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      const sdp = pc.localDescription?.sdp;
      if (!sdp) throw new Error('werift produced no answer');
      return { kind: 'sdp', sdp };
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
