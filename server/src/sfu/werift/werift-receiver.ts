/**
 * The conformance suite's receiver for drivers that speak SDP: a werift RTCPeerConnection in the test
 * process, standing in for the browser, that answers the SFU's SDP offer with its SDP answer.
 */
import { createPeerReceiver } from '../peer-receiver.ts';
import type { SfuTestReceiver } from '../testing.ts';
import type { SfuSdpAnswer, SfuSdpOffer } from '../types.ts';
import { opusCodec } from './media/peer-config.ts';

export async function createWeriftReceiver(): Promise<SfuTestReceiver<SfuSdpAnswer>> {
  return createPeerReceiver<SfuSdpOffer, SfuSdpAnswer>({
    name: 'werift',
    kind: 'sdp',
    codec: opusCodec(),
    offerSdp: (offer) => offer.sdp,
    answer: (_offer, sdp) => ({ kind: 'sdp', sdp }),
  });
}
