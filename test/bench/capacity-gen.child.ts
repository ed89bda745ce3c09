/**
 * Load generators for `promethean bench capacity`, run pinned to the core the SFU does not use.
 * Started with an IPC channel and one argument, the role as JSON:
 *
 * - `{ "role": "send", host, port, ssrcs, payloadBytes, payloadType, seq0 }`: plain RTP to the SFU's
 *   ingest, 50 packets/s per ssrc, paced like a speaker (a 5 ms tick sends every 20 ms frame that is
 *   due; frame k of every ssrc has sequence number seq0 + k). Answers `status` with the next frame
 *   index, posts `reached` when it is about to send a frame index it was asked to `notify` at, and
 *   sets the RTP marker bit on the frames it was asked to `mark`.
 * - `{ "role": "receive" }`: light listeners. Each is a werift RTCPeerConnection that answers the SFU's
 *   offer (ICE + DTLS as a browser would; a mediasoup offer is first turned into SDP with the
 *   driver's `RemoteSdp`, as mediasoup-client would) but never decrypts media: werift's
 *   `debug.inboundPacketLoss` hook drops every SRTP/SRTCP datagram before its decryption, and a
 *   subscriber on the ICE connection counts the datagrams by their RTP header, which SRTP leaves in
 *   the clear (ssrc, sequence number, marker). Nothing is decoded or stored.
 *
 *   Counting: `window` gives a range [start, end) of the sender's sequence numbers. An SFU may
 *   rewrite sequence numbers per consumer with a constant offset (mediasoup starts each consumer
 *   at 1; werift keeps them), so the window's first frame carries the marker bit: the first marked
 *   packet of an ssrc after `window` fixes that ssrc's offset (kept for later windows, in case a
 *   marked packet is lost). `report` returns, per listener and ssrc, the packets inside the window.
 *
 * Both print nothing; they exit when the IPC channel closes.
 */
import { createSocket } from 'node:dgram';
import { RTCPeerConnection, RTCRtpCodecParameters } from 'werift';
import { OPUS_RECEIVE_CAPABILITIES } from '../../server/src/sfu/mediasoup/mediasoup-receiver.ts';
import { dtlsParametersFromAnswer, RemoteSdp } from '../../server/src/sfu/mediasoup/remote-sdp.ts';
import { buildRtp } from '../../server/src/sfu/testing.ts';
import type { SfuAnswer, SfuOffer } from '../../server/src/sfu/types.ts';
import { opusCodec } from '../../server/src/sfu/werift/media/peer-config.ts';

export interface SendSpec {
  role: 'send';
  host: string;
  port: number;
  ssrcs: number[];
  payloadBytes: number;
  payloadType: number;
  seq0: number;
}

export interface ReceiveSpec {
  role: 'receive';
}

export type ToGenerator =
  | { type: 'status'; ref: number }
  | { type: 'notify'; frames: number[]; mark?: number[] }
  | { type: 'accept'; ref: number; listenerId: string; offer: SfuOffer }
  | { type: 'window'; ref: number; start: number; end: number }
  | { type: 'report'; ref: number }
  | { type: 'close'; ref: number; listenerIds: string[] };

export interface ListenerReport {
  listenerId: string;
  state: string;
  /** [ssrc, packets with a sequence number inside the window] per ssrc seen. */
  counts: [number, number][];
  /** Every RTP datagram received, window or not. */
  total: number;
}

export type FromGenerator =
  | { type: 'ready' }
  | { type: 'reply'; ref: number; frame?: number; answer?: SfuAnswer; listeners?: ListenerReport[]; error?: string }
  | { type: 'reached'; frame: number };

const spec = JSON.parse(process.argv[2] ?? '{}') as SendSpec | ReceiveSpec;
const post = (m: FromGenerator): void => void process.send?.(m);
process.on('disconnect', () => process.exit(0));

if (spec.role === 'send') runSender(spec);
else if (spec.role === 'receive') runReceiver();
else {
  process.stderr.write(`capacity generator: unknown role ${JSON.stringify(spec)}\n`);
  process.exit(2);
}

function runSender(s: SendSpec): void {
  const socket = createSocket(s.host.includes(':') ? 'udp6' : 'udp4');
  const payload = new Uint8Array(s.payloadBytes);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 131 + 7) & 0xff;
  payload[0] = 0xfc; // an Opus CELT fullband 20 ms TOC; nobody decodes it
  const notify = new Set<number>();
  const mark = new Set<number>();
  let frame = 0;
  const t0 = performance.now() + 20;
  setInterval(() => {
    const now = performance.now();
    while (t0 + frame * 20 <= now) {
      if (notify.delete(frame)) post({ type: 'reached', frame });
      const marker = frame === 0 || mark.delete(frame);
      for (const ssrc of s.ssrcs) {
        const datagram = buildRtp({ ssrc, sequenceNumber: (s.seq0 + frame) & 0xffff, timestamp: (frame * 960) >>> 0, marker, payloadType: s.payloadType, payload });
        socket.send(datagram, s.port, s.host);
      }
      frame++;
    }
  }, 5);
  process.on('message', (m: ToGenerator) => {
    if (m.type === 'status') post({ type: 'reply', ref: m.ref, frame });
    else if (m.type === 'notify') {
      for (const f of m.frames) notify.add(f);
      for (const f of m.mark ?? []) mark.add(f);
    }
  });
  post({ type: 'ready' });
}

interface Light {
  pc: RTCPeerConnection;
  /** ssrc → (received sequence number − sender's sequence number). */
  offsets: Map<number, number>;
  /** ssrc → the window whose marked packet fixed its offset. */
  markedIn: Map<number, number>;
  counts: Map<number, number>;
  total: number;
  /** Turns mediasoup offers into SDP; kept per listener (it remembers the m-sections shown). */
  remote?: RemoteSdp;
}

function runReceiver(): void {
  const listeners = new Map<string, Light>();
  let windowId = 0;
  let windowStart = 0;
  let windowLength = 0;

  async function accept(listenerId: string, offer: SfuOffer): Promise<SfuAnswer> {
    const mediasoup = offer.kind === 'mediasoup';
    const pc = new RTCPeerConnection({
      // mediasoup offers Opus with the payload type of the receive capabilities sent back below.
      codecs: {
        audio: [mediasoup ? new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48_000, channels: 2, payloadType: 100, parameters: 'minptime=10;useinbandfec=1', rtcpFeedback: [] }) : opusCodec()],
        video: [],
      },
      iceServers: [],
      iceUseIpv4: false,
      iceUseIpv6: false,
      iceAdditionalHostAddresses: ['127.0.0.1'],
      iceInterfaceAddresses: { udp4: '127.0.0.1' },
      // Any non-zero value drops inbound SRTP before decryption (werift draws Math.random() against
      // value/100); the ICE subscriber below still sees every datagram.
      debug: { inboundPacketLoss: 1e-9 },
    });
    const light: Light = { pc, offsets: new Map(), markedIn: new Map(), counts: new Map(), total: 0 };
    if (mediasoup) light.remote = new RemoteSdp();
    listeners.set(listenerId, light);
    const sdp = offer.kind === 'mediasoup' ? light.remote!.offerSdp(offer) : offer.sdp;
    await pc.setRemoteDescription({ type: 'offer', sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    const ice = pc.iceTransports[0];
    if (!ice) throw new Error('no ICE transport after the answer');
    ice.connection.onData.subscribe((data: Buffer) => {
      // RTP: version 2 and not an RTCP packet type (192–223 in the second byte).
      const b0 = data[0]!;
      const b1 = data[1]!;
      if (data.length < 12 || b0 < 128 || b0 > 191 || (b1 >= 192 && b1 <= 223)) return;
      light.total++;
      const seq = data.readUInt16BE(2);
      const ssrc = data.readUInt32BE(8);
      if (b1 & 0x80 && windowLength > 0 && light.markedIn.get(ssrc) !== windowId) {
        light.offsets.set(ssrc, (seq - windowStart) & 0xffff);
        light.markedIn.set(ssrc, windowId);
      }
      const offset = light.offsets.get(ssrc);
      if (offset === undefined || ((seq - offset - windowStart) & 0xffff) >= windowLength) return;
      light.counts.set(ssrc, (light.counts.get(ssrc) ?? 0) + 1);
    });
    const answer = pc.localDescription?.sdp;
    if (!answer) throw new Error('werift produced no answer');
    if (offer.kind === 'sdp') return { kind: 'sdp', sdp: answer };
    return { kind: 'mediasoup', revision: offer.revision, rtpCapabilities: OPUS_RECEIVE_CAPABILITIES, dtlsParameters: dtlsParametersFromAnswer(answer) };
  }

  process.on('message', (m: ToGenerator) => {
    switch (m.type) {
      case 'accept':
        accept(m.listenerId, m.offer).then(
          (answer) => post({ type: 'reply', ref: m.ref, answer }),
          (error: unknown) => post({ type: 'reply', ref: m.ref, error: String(error) }),
        );
        return;
      case 'window':
        windowId++;
        windowStart = m.start & 0xffff;
        windowLength = (m.end - m.start) & 0xffff;
        for (const l of listeners.values()) l.counts.clear();
        post({ type: 'reply', ref: m.ref });
        return;
      case 'report':
        post({
          type: 'reply',
          ref: m.ref,
          listeners: [...listeners].map(([listenerId, l]) => ({ listenerId, state: l.pc.connectionState, counts: [...l.counts], total: l.total })),
        });
        return;
      case 'close':
        for (const id of m.listenerIds) {
          const l = listeners.get(id);
          listeners.delete(id);
          void l?.pc.close().catch(() => undefined);
        }
        post({ type: 'reply', ref: m.ref });
        return;
      default:
        return;
    }
  });
  post({ type: 'ready' });
}
