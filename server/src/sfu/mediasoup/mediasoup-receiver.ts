/**
 * The conformance suite's receiver for the mediasoup driver: a werift RTCPeerConnection in the test
 * process standing in for a browser with mediasoup-client. It turns each mediasoup offer into an SDP
 * offer (`RemoteSdp`, as mediasoup-client does), answers it, and sends back the DTLS parameters of its
 * answer and Opus receive capabilities. Real ICE, DTLS and SRTP against the worker.
 */
import { RTCRtpCodecParameters } from 'werift';
import { createPeerReceiver } from '../peer-receiver.ts';
import type { SfuTestReceiver } from '../testing.ts';
import type { SfuMediasoupAnswer, SfuMediasoupOffer } from '../types.ts';
import { dtlsParametersFromAnswer, RemoteSdp } from './remote-sdp.ts';

/** What a browser's `device.rtpCapabilities` says about audio, reduced to Opus. */
export const OPUS_RECEIVE_CAPABILITIES = {
  codecs: [{ kind: 'audio', mimeType: 'audio/opus', preferredPayloadType: 100, clockRate: 48_000, channels: 2, parameters: { minptime: 10, useinbandfec: 1 }, rtcpFeedback: [] }],
  headerExtensions: [{ kind: 'audio', uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', preferredId: 1, preferredEncrypt: false, direction: 'recvonly' }],
};

export async function createMediasoupReceiver(): Promise<SfuTestReceiver<SfuMediasoupAnswer>> {
  const remote = new RemoteSdp();
  return createPeerReceiver<SfuMediasoupOffer, SfuMediasoupAnswer>({
    name: 'mediasoup',
    kind: 'mediasoup',
    codec: new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48_000, channels: 2, payloadType: 100, parameters: 'minptime=10;useinbandfec=1', rtcpFeedback: [] }),
    offerSdp: (offer) => remote.offerSdp(offer),
    answer: (offer, sdp) => ({ kind: 'mediasoup', revision: offer.revision, rtpCapabilities: OPUS_RECEIVE_CAPABILITIES, dtlsParameters: dtlsParametersFromAnswer(sdp) }),
  });
}
