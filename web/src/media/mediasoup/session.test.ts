/**
 * The mediasoup session against the real mediasoup-client, with the FakeHandler that
 * mediasoup-client ships for running without a browser (no RTCPeerConnection under Node), fed the
 * offers the server's real mediasoup driver made (`../fixtures/mediasoup-offers.json`).
 */
import { Device, FakeHandler, testFakeParameters, type types } from 'mediasoup-client';
import { describe, expect, it } from 'vitest';
import { InvalidStateError, UnsupportedError } from '../../errors.ts';
import captured from '../fixtures/mediasoup-offers.json' with { type: 'json' };
import type { MediaConnectionState } from '../media-session.ts';
import { parseOffer, type MediasoupAnswer, type MediasoupOffer } from '../offer.ts';
import { createMediasoupSession, type MediasoupDevice } from './session.ts';

const ALICE = '111111111111111111';
const BOB = '222222222222222222';
const first = (): MediasoupOffer => parseOffer(structuredClone(captured.listen), 'listen') as MediasoupOffer;
const second = (): MediasoupOffer => parseOffer(structuredClone(captured.producers), 'producers') as MediasoupOffer;

/** A real Device on mediasoup-client's FakeHandler, counting loads and keeping the transports it made. */
function fakeHandlerDevices() {
  const made = { devices: 0, loads: 0, transports: [] as types.Transport[] };
  const createDevice = async (): Promise<MediasoupDevice> => {
    made.devices++;
    const device = new Device({ handlerFactory: FakeHandler.createFactory(testFakeParameters) });
    return {
      get loaded() {
        return device.loaded;
      },
      get recvRtpCapabilities() {
        return device.recvRtpCapabilities;
      },
      load: (options) => {
        made.loads++;
        return device.load(options);
      },
      createRecvTransport: (options) => {
        const t = device.createRecvTransport(options);
        made.transports.push(t);
        return t;
      },
    };
  };
  return { made, createDevice };
}

const handlerOf = (t: types.Transport): FakeHandler => t.handler as FakeHandler;

describe('mediasoup session', () => {
  it('first offer: one Device loaded once, a receive transport, a consumer per speaker; the answer has the revision, the device\'s capabilities and the DTLS parameters of connect', async () => {
    const { made, createDevice } = fakeHandlerDevices();
    const session = createMediasoupSession({ createDevice });
    const offer = first();
    const answer = (await session.apply(offer)) as MediasoupAnswer;
    expect(made).toMatchObject({ devices: 1, loads: 1 });
    expect(made.transports.map((t) => t.id)).toEqual([offer.transport.id]);
    expect(answer).toMatchObject({ kind: 'mediasoup', revision: 1 });
    expect(answer.dtlsParameters).toMatchObject({ role: 'client', fingerprints: [expect.objectContaining({ algorithm: expect.any(String) })] });
    expect((answer.rtpCapabilities as types.RtpCapabilities).codecs?.some((c) => c.mimeType.toLowerCase() === 'audio/opus')).toBe(true);
    const tracks = session.tracks();
    expect(tracks.map((t) => [t.user_id, t.mid, t.producer_id])).toEqual(offer.tracks.map((t) => [t.user_id, t.mid, t.producer_id]));
    expect(tracks.map((t) => [t.track.kind, t.track.readyState])).toEqual([['audio', 'live'], ['audio', 'live']]);
    expect(new Set(tracks.map((t) => t.track.id)).size).toBe(2);
    session.close();
  });

  it('a renegotiation closes the consumer no longer offered, keeps the others and their tracks, on the same transport and Device', async () => {
    const { made, createDevice } = fakeHandlerDevices();
    const session = createMediasoupSession({ createDevice });
    await session.apply(first());
    const before = new Map(session.tracks().map((t) => [t.user_id, t.track]));
    const answer = (await session.apply(second())) as MediasoupAnswer;
    expect(answer).toMatchObject({ kind: 'mediasoup', revision: 2, dtlsParameters: expect.objectContaining({ role: 'client' }) });
    const after = session.tracks();
    expect(after.map((t) => [t.user_id, t.mid])).toEqual([[BOB, '1']]);
    expect(after[0]!.track).toBe(before.get(BOB));
    expect(before.get(ALICE)!.readyState).toBe('ended');
    expect(made).toMatchObject({ devices: 1, loads: 1 });
    expect(made.transports).toHaveLength(1);
    // Bob's consumer back with alice's again: only alice's is consumed anew.
    await session.apply(first());
    expect(session.tracks().map((t) => t.user_id)).toEqual([ALICE, BOB]);
    expect(session.tracks()[1]!.track).toBe(before.get(BOB));
    session.close();
  });

  it('answers null while no consumer ever connected the transport, then answers once one is consumed', async () => {
    const { createDevice } = fakeHandlerDevices();
    const session = createMediasoupSession({ createDevice });
    const empty = { ...first(), consumers: [], tracks: [] };
    expect(await session.apply(empty)).toBeNull();
    expect(session.tracks()).toEqual([]);
    const answer = await session.apply({ ...second(), revision: 2 });
    expect(answer).toMatchObject({ revision: 2, dtlsParameters: expect.objectContaining({ role: 'client' }) });
    session.close();
  });

  it('reports the transport\'s connection states', async () => {
    const { made, createDevice } = fakeHandlerDevices();
    const session = createMediasoupSession({ createDevice });
    const states: MediaConnectionState[] = [];
    session.onstatechange = (s) => states.push(s);
    expect(session.connectionState).toBe('new');
    await session.apply(first());
    handlerOf(made.transports[0]!).setConnectionState('connected');
    handlerOf(made.transports[0]!).setConnectionState('disconnected');
    handlerOf(made.transports[0]!).setConnectionState('failed');
    expect(states).toEqual(['connecting', 'connected', 'disconnected', 'failed']);
    expect(session.connectionState).toBe('failed');
    session.close();
  });

  it('close() closes the transport and stops every track; idempotent; apply() afterwards rejects with InvalidStateError', async () => {
    const { made, createDevice } = fakeHandlerDevices();
    const session = createMediasoupSession({ createDevice });
    const states: MediaConnectionState[] = [];
    session.onstatechange = (s) => states.push(s);
    await session.apply(first());
    const tracks = session.tracks().map((t) => t.track);
    session.close();
    session.close();
    expect(made.transports[0]!.closed).toBe(true);
    expect(tracks.map((t) => t.readyState)).toEqual(['ended', 'ended']);
    expect(session.tracks()).toEqual([]);
    await expect(session.apply(second())).rejects.toBeInstanceOf(InvalidStateError);
    expect(states).toEqual(['connecting']);
  });

  it('close() during the first apply leaves nothing open', async () => {
    const { made, createDevice } = fakeHandlerDevices();
    const session = createMediasoupSession({ createDevice });
    const pending = session.apply(first());
    session.close();
    await expect(pending).rejects.toBeInstanceOf(InvalidStateError);
    expect(made.transports.every((t) => t.closed)).toBe(true);
  });

  it('rejects an SDP offer, and a browser mediasoup-client has no handler for, with UnsupportedError', async () => {
    const { createDevice } = fakeHandlerDevices();
    await expect(createMediasoupSession({ createDevice }).apply({ kind: 'sdp', sdp: 'v=0', tracks: [] })).rejects.toBeInstanceOf(UnsupportedError);
    // Node is no browser: a Device without a handler factory refuses it.
    const error = await createMediasoupSession({ createDevice: async () => new Device() }).apply(first()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedError);
    expect((error as Error).message).toMatch(/^this browser cannot receive mediasoup audio/);
  });

  it('rejects an offer whose consumer the device cannot receive (the listener then starts over)', async () => {
    const { createDevice } = fakeHandlerDevices();
    const session = createMediasoupSession({ createDevice });
    const offer = first();
    // A payload type the router never offered: mediasoup-client cannot receive it.
    (offer.consumers[1]!.rtpParameters.codecs as { payloadType: number }[])[0]!.payloadType = 9;
    await expect(session.apply(offer)).rejects.toThrow(/cannot consume/);
    session.close();
  });
});
