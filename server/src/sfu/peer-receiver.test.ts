import { describe, expect, it } from 'vitest';
import { createMediasoupReceiver } from './mediasoup/mediasoup-receiver.ts';
import type { SfuMediasoupOffer, SfuSdpOffer } from './types.ts';
import { createWeriftReceiver } from './werift/werift-receiver.ts';

const sdpOffer: SfuSdpOffer = { kind: 'sdp', sdp: 'v=0\r\n', tracks: [], skipped: [] };
const mediasoupOffer: SfuMediasoupOffer = {
  kind: 'mediasoup',
  revision: 1,
  routerRtpCapabilities: {},
  transport: { id: 't', iceParameters: {}, iceCandidates: [], dtlsParameters: {} },
  consumers: [],
  tracks: [],
  skipped: [],
};

describe('test receivers', () => {
  it("accept() rejects an offer of the other driver's kind, naming both kinds", async () => {
    const werift = await createWeriftReceiver();
    const mediasoup = await createMediasoupReceiver();
    try {
      await expect(werift.accept(mediasoupOffer)).rejects.toThrow('the werift receiver takes sdp offers, not mediasoup');
      await expect(mediasoup.accept(sdpOffer)).rejects.toThrow('the mediasoup receiver takes mediasoup offers, not sdp');
      expect(werift.received('0')).toEqual([]);
      expect([werift.connectionState, mediasoup.connectionState]).toEqual(['new', 'new']);
    } finally {
      await werift.close();
      await mediasoup.close();
    }
  });
});
