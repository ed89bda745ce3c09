/**
 * The conformance suite's receiver for the mediasoup driver: a werift RTCPeerConnection in the test
 * process standing in for a browser with mediasoup-client. It turns each mediasoup offer into an SDP
 * offer (`RemoteSdp`, as mediasoup-client does), answers it, and sends back the DTLS parameters of its
 * answer and Opus receive capabilities. Real ICE, DTLS and SRTP against the worker.
 */
import { RTCPeerConnection, RTCRtpCodecParameters, type MediaStreamTrack } from 'werift';
import type { ReceivedPacket, SfuTestReceiver } from '../testing.ts';
import type { SfuMediasoupAnswer, SfuOffer } from '../types.ts';
import { dtlsParametersFromAnswer, RemoteSdp } from './remote-sdp.ts';

/** What a browser's `device.rtpCapabilities` says about audio, reduced to Opus. */
export const OPUS_RECEIVE_CAPABILITIES = {
  codecs: [{ kind: 'audio', mimeType: 'audio/opus', preferredPayloadType: 100, clockRate: 48_000, channels: 2, parameters: { minptime: 10, useinbandfec: 1 }, rtcpFeedback: [] }],
  headerExtensions: [{ kind: 'audio', uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', preferredId: 1, preferredEncrypt: false, direction: 'recvonly' }],
};

export async function createMediasoupReceiver(): Promise<SfuTestReceiver<SfuMediasoupAnswer>> {
  const pc = new RTCPeerConnection({
    codecs: {
      audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48_000, channels: 2, payloadType: 100, parameters: 'minptime=10;useinbandfec=1', rtcpFeedback: [] })],
      video: [],
    },
    iceServers: [],
    // Loopback only, like a browser on the same machine given the SFU's 127.0.0.1 candidate.
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceInterfaceAddresses: { udp4: '127.0.0.1' },
  });
  const remote = new RemoteSdp();
  const byMid = new Map<string, ReceivedPacket[]>();
  const subscribed = new WeakSet<MediaStreamTrack>();
  pc.onTrack.subscribe((track) => {
    if (subscribed.has(track)) return;
    subscribed.add(track);
    const transceiver = pc.getTransceivers().find((t) => t.receiver.track === track);
    track.onReceiveRtp.subscribe((rtp) => {
      const mid = transceiver?.mid;
      if (mid == null) return;
      let list = byMid.get(mid);
      if (!list) byMid.set(mid, (list = []));
      list.push({ payload: Uint8Array.from(rtp.payload), sequenceNumber: rtp.header.sequenceNumber, timestamp: rtp.header.timestamp, marker: rtp.header.marker });
    });
  });
  let closed = false;
  return {
    async accept(offer: SfuOffer): Promise<SfuMediasoupAnswer> {
      if (offer.kind !== 'mediasoup') throw new Error(`the mediasoup receiver takes mediasoup offers, not ${offer.kind}`);
      await pc.setRemoteDescription({ type: 'offer', sdp: remote.offerSdp(offer) });
      await pc.setLocalDescription(await pc.createAnswer());
      const sdp = pc.localDescription?.sdp;
      if (!sdp) throw new Error('werift produced no answer');
      return { kind: 'mediasoup', revision: offer.revision, rtpCapabilities: OPUS_RECEIVE_CAPABILITIES, dtlsParameters: dtlsParametersFromAnswer(sdp) };
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
