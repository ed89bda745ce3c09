/**
 * The conformance suite every SFU driver runs (`werift/werift.test.ts`, `mediasoup/mediasoup.test.ts`).
 * It moves real media: plain RTP sent to the ingest from a UDP socket, received by a WebRTC peer in the
 * test process (the driver's `receiver`) that answers the listener's offer. Waits are on events or polled
 * conditions with deadlines, never fixed sleeps. Every test closes what it opened, receivers first
 * (a werift peer whose remote side vanished keeps a ~30 s consent timer alive after close()).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidStateError, SsrcInUseError, IdInUseError } from './errors.ts';
import type { SfuOptions } from './options.ts';
import { RtpTestSender, until, type ReceivedPacket, type SentPacket, type SfuReceiverFactory, type SfuTestReceiver } from './testing.ts';
import type { Sfu, SfuConnectionState, SfuListener, SfuOffer, SfuProducer, SfuRouter } from './types.ts';

export interface SfuSuiteOptions {
  /** Shown in the describe block. */
  name: string;
  /** A fresh, started Sfu. */
  create: (options: Partial<SfuOptions>) => Promise<Sfu>;
  /** A fresh receiver (a WebRTC peer standing in for the browser). */
  receiver: SfuReceiverFactory;
  /** Kills the driver's media process or worker abruptly, as a crash would. */
  crash: (sfu: Sfu) => void;
  /** The handshake the driver's offers use. Default `sdp`. */
  offerKind?: SfuOffer['kind'];
  /**
   * Whether a new producer takes over the m-line (and mid) of a dropped one. SDP drivers do; with
   * mediasoup every consumer has its own mid and the browser's mediasoup-client recycles the m-line.
   */
  reusesMids?: boolean;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** The payloads of `received`, as hex, for readable diffs. */
const payloads = (packets: ReadonlyArray<ReceivedPacket | SentPacket>): string[] => packets.map((p) => hex(p.payload));

/** True when each sequence number follows the previous one (16-bit wrap). */
function contiguous(packets: readonly ReceivedPacket[]): boolean {
  return packets.every((p, i) => i === 0 || p.sequenceNumber === ((packets[i - 1]!.sequenceNumber + 1) & 0xffff));
}

/** The ICE candidates an offer carries, whatever its kind. */
function candidateCount(offer: SfuOffer): number {
  return offer.kind === 'sdp' ? offer.sdp.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:')).length : offer.transport.iceCandidates.length;
}

function midOf(offer: SfuOffer, producer: SfuProducer): string {
  const track = offer.tracks.find((t) => t.producerId === producer.id);
  if (!track) throw new Error(`offer carries no track for producer ${producer.id}`);
  return track.mid;
}

export function runSfuSuite({ name, create, receiver: createReceiver, crash, offerKind = 'sdp', reusesMids = true }: SfuSuiteOptions): void {
  describe(`Sfu conformance: ${name}`, () => {
    let sfu: Sfu;
    let sender: RtpTestSender;
    /** Closed after each test, last registered first. */
    let cleanups: Array<() => unknown> = [];
    let nextSsrc = 0x1000_0000 + Math.floor(Math.random() * 0x1000_0000);
    let nextSession = 0;
    const ssrc = (): number => nextSsrc++ >>> 0;
    const sessionId = (): string => `session-${++nextSession}`;

    beforeAll(async () => {
      sfu = await create({});
      sender = await RtpTestSender.open(sfu.ingest);
    });

    afterEach(async () => {
      const list = cleanups.reverse();
      cleanups = [];
      for (const cleanup of list) await cleanup();
    });

    afterAll(async () => {
      sender?.close();
      await sfu?.close();
    });

    async function router(on: Sfu = sfu): Promise<SfuRouter> {
      const r = await on.createRouter(sessionId());
      cleanups.push(() => r.close());
      return r;
    }

    async function receiver(): Promise<SfuTestReceiver> {
      const r = await createReceiver();
      cleanups.push(() => r.close());
      return r;
    }

    /** Offer → receiver's answer → listener; resolves once both ends are connected. */
    async function negotiate(listener: SfuListener, rx: SfuTestReceiver, producerIds: string[]): Promise<SfuOffer> {
      const offer = await listener.setProducers(producerIds);
      await listener.answer(await rx.accept(offer));
      await until(() => listener.connectionState === 'connected' && rx.connectionState === 'connected', 'both ends connected');
      return offer;
    }

    async function connect(r: SfuRouter, producers: SfuProducer[]): Promise<{ listener: SfuListener; rx: SfuTestReceiver; offer: SfuOffer }> {
      const rx = await receiver();
      const listener = await r.createListener();
      const offer = await negotiate(listener, rx, producers.map((p) => p.id));
      return { listener, rx, offer };
    }

    it('forwards RTP sent to the ingest with a producer ssrc to its track: identical payloads, in order, none lost', async () => {
      const r = await router();
      const p = await r.produce({ userId: 'alice', ssrc: ssrc(), payloadType: 120 });
      const { rx, offer } = await connect(r, [p]);
      const mid = midOf(offer, p);
      expect(offer.kind).toBe(offerKind);
      expect(offer.tracks).toEqual([{ mid, producerId: p.id, userId: 'alice' }]);
      expect(offer.skipped).toEqual([]);

      const sent = await sender.stream(p.ssrc, 60);
      await until(() => rx.received(mid).length >= sent.length, '60 packets on the track');
      const got = rx.received(mid);
      expect(payloads(got)).toEqual(payloads(sent));
      expect(contiguous(got)).toBe(true);
      const stats = await p.stats();
      expect(stats.packets).toBe(60);
      expect(stats.bytes).toBe(sent.reduce((n, s) => n + 12 + s.payload.length, 0));
      expect(stats.lastPacketAt).toEqual(expect.any(Number));
    });

    it('keeps two producers on two tracks with no cross-talk', async () => {
      const r = await router();
      const a = await r.produce({ userId: 'alice', ssrc: ssrc() });
      const b = await r.produce({ userId: 'bob', ssrc: ssrc() });
      const { rx, offer } = await connect(r, [a, b]);
      const [midA, midB] = [midOf(offer, a), midOf(offer, b)];
      expect(midA).not.toBe(midB);
      expect(offer.tracks.map((t) => t.userId)).toEqual(['alice', 'bob']);

      const sentA: SentPacket[] = [];
      const sentB: SentPacket[] = [];
      for (let i = 0; i < 30; i++) {
        sentA.push(...(await sender.stream(a.ssrc, 1)));
        sentB.push(...(await sender.stream(b.ssrc, 1)));
      }
      await until(() => rx.received(midA).length >= 30 && rx.received(midB).length >= 30, '30 packets on each track');
      expect(payloads(rx.received(midA))).toEqual(payloads(sentA));
      expect(payloads(rx.received(midB))).toEqual(payloads(sentB));
    });

    it('setProducers() on a connected listener adds a producer without tearing the connection down', async () => {
      const r = await router();
      const a = await r.produce({ userId: 'alice', ssrc: ssrc() });
      const b = await r.produce({ userId: 'bob', ssrc: ssrc() });
      const { listener, rx, offer } = await connect(r, [a, b]);
      const states: SfuConnectionState[] = [];
      listener.on('connectionstatechange', (s) => states.push(s));
      await sender.stream(a.ssrc, 5);
      await until(() => rx.received(midOf(offer, a)).length >= 5, 'first packets of alice');

      const c = await r.produce({ userId: 'carol', ssrc: ssrc() });
      const offer2 = await negotiate(listener, rx, [a.id, b.id, c.id]);
      // Existing m-lines keep their mids; the new producer gets its own.
      expect(midOf(offer2, a)).toBe(midOf(offer, a));
      expect(midOf(offer2, b)).toBe(midOf(offer, b));
      expect(new Set(offer2.tracks.map((t) => t.mid)).size).toBe(3);

      const sentA = await sender.stream(a.ssrc, 10);
      const sentC = await sender.stream(c.ssrc, 10);
      await until(() => rx.received(midOf(offer2, c)).length >= 10 && rx.received(midOf(offer, a)).length >= 15, 'carol and alice after renegotiation');
      expect(payloads(rx.received(midOf(offer2, c)))).toEqual(payloads(sentC));
      expect(payloads(rx.received(midOf(offer, a)).slice(5))).toEqual(payloads(sentA));
      expect(states).toEqual([]);
      expect(listener.connectionState).toBe('connected');
    });

    it('a new setProducers() offer replaces one not yet answered', async () => {
      const r = await router();
      const a = await r.produce({ userId: 'alice', ssrc: ssrc() });
      const b = await r.produce({ userId: 'bob', ssrc: ssrc() });
      const rx = await receiver();
      const listener = await r.createListener();
      await listener.setProducers([a.id]);
      const offer = await negotiate(listener, rx, [a.id, b.id]);
      expect(listener.tracks()).toEqual(offer.tracks);
      const sent = await sender.stream(b.ssrc, 5);
      await until(() => rx.received(midOf(offer, b)).length >= 5, 'bob on the second offer');
      expect(payloads(rx.received(midOf(offer, b)))).toEqual(payloads(sent));
    });

    it('producer close() stops its track on every listener while the others keep receiving; its m-line is reused', async () => {
      const r = await router();
      const a = await r.produce({ userId: 'alice', ssrc: ssrc() });
      const b = await r.produce({ userId: 'bob', ssrc: ssrc() });
      const one = await connect(r, [a, b]);
      const two = await connect(r, [a, b]);
      const told: string[] = [];
      one.listener.on('producerclose', (id) => told.push(`one:${id}`));
      two.listener.on('producerclose', (id) => told.push(`two:${id}`));
      await sender.stream(a.ssrc, 3);
      await until(() => one.rx.received(midOf(one.offer, a)).length >= 3 && two.rx.received(midOf(two.offer, a)).length >= 3, 'alice on both listeners');

      const closes: string[] = [];
      a.on('close', () => closes.push('a'));
      const unknownBefore = (await sfu.stats()).unknownSsrc;
      a.close();
      a.close();
      expect(a.closed).toBe(true);
      expect(closes).toEqual(['a']);
      expect(r.producers()).toEqual([b]);
      expect(told.sort()).toEqual([`one:${a.id}`, `two:${a.id}`]);

      await sender.stream(a.ssrc, 5);
      const sentB = await sender.stream(b.ssrc, 5);
      await until(() => one.rx.received(midOf(one.offer, b)).length >= 5 && two.rx.received(midOf(two.offer, b)).length >= 5, 'bob on both listeners');
      await until(async () => (await sfu.stats()).unknownSsrc >= unknownBefore + 5, "alice's packets counted as unknown");
      for (const { rx, offer } of [one, two]) {
        expect(rx.received(midOf(offer, a))).toHaveLength(3);
        expect(payloads(rx.received(midOf(offer, b)))).toEqual(payloads(sentB));
      }

      // The freed ssrc can be produced again; the dropped m-line is reused for the next producer.
      const c = await r.produce({ userId: 'carol', ssrc: a.ssrc });
      const offer2 = await negotiate(one.listener, one.rx, [b.id, c.id]);
      if (reusesMids) expect(midOf(offer2, c)).toBe(midOf(one.offer, a));
      else expect([midOf(one.offer, a), midOf(offer2, b)]).not.toContain(midOf(offer2, c));
      expect(offer2.tracks).toHaveLength(2);
      const sentC = await sender.stream(c.ssrc, 5);
      const earlier = reusesMids ? 3 : 0; // alice's packets on the same mid
      await until(() => one.rx.received(midOf(offer2, c)).length >= earlier + 5, "carol on the dropped producer's m-line or a new one");
      expect(payloads(one.rx.received(midOf(offer2, c)).slice(earlier))).toEqual(payloads(sentC));
    });

    it('setProducers() skips closed and unknown producers and reports them', async () => {
      const r = await router();
      const a = await r.produce({ userId: 'alice', ssrc: ssrc() });
      const gone = await r.produce({ userId: 'bob', ssrc: ssrc() });
      gone.close();
      const listener = await r.createListener();
      const offer = await listener.setProducers(['nope', a.id, a.id, gone.id]);
      expect(offer.tracks.map((t) => t.producerId)).toEqual([a.id]);
      expect(offer.skipped).toEqual(['nope', gone.id]);
      expect(candidateCount(offer)).toBeGreaterThan(0);
    });

    it('produce() rejects with SsrcInUseError when any producer of the Sfu has the ssrc, and with IdInUseError on a taken id', async () => {
      const r1 = await router();
      const r2 = await router();
      const taken = ssrc();
      const p = await r1.produce({ userId: 'alice', ssrc: taken, producerId: 'p-taken' });
      await expect(r1.produce({ userId: 'bob', ssrc: taken })).rejects.toBeInstanceOf(SsrcInUseError);
      await expect(r2.produce({ userId: 'bob', ssrc: taken })).rejects.toBeInstanceOf(SsrcInUseError);
      await expect(r1.produce({ userId: 'bob', ssrc: ssrc(), producerId: 'p-taken' })).rejects.toBeInstanceOf(IdInUseError);
      await expect(sfu.createRouter(r1.sessionId)).rejects.toBeInstanceOf(IdInUseError);
      expect(r1.producers()).toEqual([p]);
      expect(r2.producers()).toEqual([]);
    });

    it('producer and listener ids are unique across the Sfu from the moment they are asked for; a refused or closed one is free again', async () => {
      const r1 = await router();
      const r2 = await router();
      const taken = ssrc();
      await r1.produce({ userId: 'alice', ssrc: taken });
      // Refused for its ssrc: the id it asked for is not kept.
      await expect(r2.produce({ userId: 'bob', ssrc: taken, producerId: 'p-unique' })).rejects.toBeInstanceOf(SsrcInUseError);
      const p = await r2.produce({ userId: 'bob', ssrc: ssrc(), producerId: 'p-unique' });
      await expect(r1.produce({ userId: 'carol', ssrc: ssrc(), producerId: 'p-unique' })).rejects.toBeInstanceOf(IdInUseError);
      // Two routers asking for one listener id at once: exactly one gets it.
      const both = await Promise.allSettled([r1.createListener('l-unique'), r2.createListener('l-unique')]);
      const won = both.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      const lost = both.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
      expect(won).toHaveLength(1);
      expect(lost).toEqual([expect.any(IdInUseError)]);
      won[0]!.close();
      p.close();
      expect((await r1.produce({ userId: 'carol', ssrc: ssrc(), producerId: 'p-unique' })).id).toBe('p-unique');
      expect((await r1.createListener('l-unique')).id).toBe('l-unique');
    });

    it('counts unknown-ssrc, RTCP and malformed datagrams and keeps forwarding', async () => {
      const r = await router();
      const p = await r.produce({ userId: 'alice', ssrc: ssrc(), payloadType: 120 });
      const { rx, offer } = await connect(r, [p]);
      const before = await sfu.stats();
      await sender.send(Uint8Array.of(1, 2, 3)); // too short
      await sender.send(new Uint8Array(40).fill(0x40)); // version 1
      await sender.send(Uint8Array.of(0x8f, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)); // 15 CSRCs announced, none there
      await sender.send(Uint8Array.of(0x80, 0xc8, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0)); // RTCP sender report
      await sender.stream(ssrc(), 3); // nobody's ssrc
      await sender.stream(p.ssrc, 2, { payloadType: 99 }); // not the producer's payload type
      const expected = {
        malformed: before.malformed + 3,
        rtcp: before.rtcp + 1,
        unknownSsrc: before.unknownSsrc + 3,
        wrongPayloadType: before.wrongPayloadType + 2,
      };
      await until(async () => {
        const s = await sfu.stats();
        return s.malformed >= expected.malformed && s.rtcp >= expected.rtcp && s.unknownSsrc >= expected.unknownSsrc && s.wrongPayloadType >= expected.wrongPayloadType;
      }, 'bad datagrams counted');
      expect(await sfu.stats()).toMatchObject(expected);

      const sent = await sender.stream(p.ssrc, 10);
      await until(() => rx.received(midOf(offer, p)).length >= 10, 'packets after the garbage');
      expect(payloads(rx.received(midOf(offer, p)))).toEqual(payloads(sent));
    });

    it('router close() cascades to its producers and listeners, once, and is idempotent', async () => {
      const r = await router();
      const p = await r.produce({ userId: 'alice', ssrc: ssrc() });
      const l = await r.createListener('listener-cascade');
      await l.setProducers([p.id]);
      const events: string[] = [];
      r.on('close', () => events.push('router'));
      p.on('close', () => events.push('producer'));
      l.on('close', () => events.push('listener'));
      l.on('producerclose', () => events.push('producerclose'));
      r.close();
      r.close();
      expect([r.closed, p.closed, l.closed]).toEqual([true, true, true]);
      expect(events).toEqual(['listener', 'producer', 'router']);
      expect(sfu.router(r.sessionId)).toBeUndefined();
      // Its ssrc and ids are free again.
      const r2 = await router();
      await r2.produce({ userId: 'alice', ssrc: p.ssrc });
      await r2.createListener('listener-cascade');
    });

    it('using a closed Sfu, router, producer or listener throws InvalidStateError', async () => {
      const r = await router();
      const p = await r.produce({ userId: 'alice', ssrc: ssrc() });
      const l = await r.createListener();
      await expect(l.answer('v=0\r\n')).rejects.toBeInstanceOf(InvalidStateError); // no offer awaits an answer
      p.close();
      l.close();
      await expect(p.stats()).rejects.toBeInstanceOf(InvalidStateError);
      await expect(l.setProducers([])).rejects.toBeInstanceOf(InvalidStateError);
      await expect(l.answer('v=0\r\n')).rejects.toBeInstanceOf(InvalidStateError);
      r.close();
      await expect(r.produce({ userId: 'bob', ssrc: ssrc() })).rejects.toBeInstanceOf(InvalidStateError);
      await expect(r.createListener()).rejects.toBeInstanceOf(InvalidStateError);

      const other = await create({});
      await other.close();
      expect(other.closed).toBe(true);
      await expect(other.createRouter('x')).rejects.toBeInstanceOf(InvalidStateError);
      await expect(other.stats()).rejects.toBeInstanceOf(InvalidStateError);
    });

    it('Sfu close() closes every router, emits close once and is idempotent', async () => {
      const other = await create({});
      const r = await other.createRouter('a');
      const p = await r.produce({ userId: 'alice', ssrc: ssrc() });
      const l = await r.createListener();
      let closes = 0;
      other.on('close', () => closes++);
      const first = other.close();
      expect(other.closed).toBe(true);
      await Promise.all([first, other.close()]);
      await other.close();
      expect([r.closed, p.closed, l.closed]).toEqual([true, true, true]);
      expect(other.routers()).toEqual([]);
      expect(closes).toBe(1);
    });

    it("emits died and closes its routers when the media process is killed", async () => {
      const other = await create({});
      const r = await other.createRouter('a');
      const p = await r.produce({ userId: 'alice', ssrc: ssrc() });
      const l = await r.createListener();
      const died = new Promise<Error>((resolve) => other.once('died', resolve));
      crash(other);
      const error = await died;
      expect(error).toBeInstanceOf(Error);
      expect([other.closed, r.closed, p.closed, l.closed]).toEqual([true, true, true, true]);
      await other.close();
      await expect(other.createRouter('b')).rejects.toBeInstanceOf(InvalidStateError);
    });
  });
}
