/**
 * A mediasoup offer as an SDP offer, for peers that speak SDP but not mediasoup-client (the test
 * receiver, a benchmark's answerer): what mediasoup-client does inside a browser, written small.
 * `RemoteSdp` keeps every m-section it has shown (a consumer no longer offered stays as `inactive`,
 * since an SDP offer may not drop m-lines), and reads the DTLS parameters back from the peer's answer.
 */
import type { MediasoupJson, SfuMediasoupConsumer, SfuMediasoupOffer } from '../types.ts';

interface Codec {
  mimeType: string;
  payloadType: number;
  clockRate: number;
  channels?: number;
  parameters?: Record<string, string | number>;
  rtcpFeedback?: Array<{ type: string; parameter?: string }>;
}

interface Candidate {
  foundation: string;
  priority: number;
  ip?: string;
  address?: string;
  protocol: 'udp' | 'tcp';
  port: number;
  type: string;
  tcpType?: string;
}

interface Section {
  mid: string;
  consumer: SfuMediasoupConsumer;
  active: boolean;
}

export class RemoteSdp {
  readonly #sections: Section[] = [];
  #version = 0;
  readonly #sessionId = String(Math.floor(Math.random() * 1e12));

  /** The SDP offer for `offer`, with every m-section shown before. */
  offerSdp(offer: SfuMediasoupOffer): string {
    const wanted = new Map(offer.consumers.map((c) => [String(c.rtpParameters.mid), c]));
    for (const section of this.#sections) {
      const c = wanted.get(section.mid);
      section.active = c !== undefined;
      if (c) section.consumer = c;
    }
    for (const [mid, consumer] of wanted) {
      if (!this.#sections.some((s) => s.mid === mid)) this.#sections.push({ mid, consumer, active: true });
    }
    const t = offer.transport;
    const ice = t.iceParameters as { usernameFragment: string; password: string };
    const fingerprints = (t.dtlsParameters as { fingerprints: Array<{ algorithm: string; value: string }> }).fingerprints;
    const fingerprint = fingerprints.find((f) => f.algorithm === 'sha-256') ?? fingerprints[0]!;
    const candidates = (t.iceCandidates as unknown as Candidate[]).map(candidateLine);
    const lines = [
      'v=0',
      `o=mediasoup-remote ${this.#sessionId} ${++this.#version} IN IP4 0.0.0.0`,
      's=-',
      't=0 0',
      'a=ice-lite',
      `a=fingerprint:${fingerprint.algorithm} ${fingerprint.value}`,
      'a=msid-semantic: WMS *',
      `a=group:BUNDLE ${this.#sections.map((s) => s.mid).join(' ')}`,
    ];
    for (const s of this.#sections) lines.push(...mediaSection(s, ice, candidates));
    return `${lines.join('\r\n')}\r\n`;
  }
}

function candidateLine(c: Candidate): string {
  const tcp = c.protocol === 'tcp' ? ` tcptype ${c.tcpType ?? 'passive'}` : '';
  return `a=candidate:${c.foundation} 1 ${c.protocol} ${c.priority} ${c.ip ?? c.address} ${c.port} typ ${c.type}${tcp}`;
}

function mediaSection(s: Section, ice: { usernameFragment: string; password: string }, candidates: string[]): string[] {
  const p = s.consumer.rtpParameters as MediasoupJson & {
    codecs: Codec[];
    headerExtensions?: Array<{ uri: string; id: number }>;
    encodings?: Array<{ ssrc?: number }>;
    rtcp?: { cname?: string };
  };
  const codecs = p.codecs;
  const lines = [
    `m=audio 7 UDP/TLS/RTP/SAVPF ${codecs.map((c) => c.payloadType).join(' ')}`,
    'c=IN IP4 127.0.0.1',
    `a=mid:${s.mid}`,
    s.active ? 'a=sendonly' : 'a=inactive',
    `a=ice-ufrag:${ice.usernameFragment}`,
    `a=ice-pwd:${ice.password}`,
    ...candidates,
    'a=end-of-candidates',
    'a=setup:actpass',
    'a=rtcp-mux',
    'a=rtcp-rsize',
  ];
  for (const c of codecs) {
    const [, name] = c.mimeType.split('/');
    lines.push(`a=rtpmap:${c.payloadType} ${name}/${c.clockRate}${c.channels && c.channels > 1 ? `/${c.channels}` : ''}`);
    const fmtp = Object.entries(c.parameters ?? {}).map(([k, v]) => `${k}=${v}`);
    if (fmtp.length > 0) lines.push(`a=fmtp:${c.payloadType} ${fmtp.join(';')}`);
    for (const fb of c.rtcpFeedback ?? []) lines.push(`a=rtcp-fb:${c.payloadType} ${fb.type}${fb.parameter ? ` ${fb.parameter}` : ''}`);
  }
  for (const e of p.headerExtensions ?? []) lines.push(`a=extmap:${e.id} ${e.uri}`);
  const ssrc = p.encodings?.[0]?.ssrc;
  if (s.active && ssrc !== undefined) {
    lines.push(`a=msid:${s.consumer.producerId} ${s.consumer.id}`);
    lines.push(`a=ssrc:${ssrc} cname:${p.rtcp?.cname ?? 'mediasoup'}`);
  }
  return lines;
}

/** The DTLS parameters of an SDP answer to {@link RemoteSdp}'s offer (`a=setup:active` makes it the client). */
export function dtlsParametersFromAnswer(sdp: string): MediasoupJson {
  const fingerprint = /^a=fingerprint:(\S+) (\S+)/m.exec(sdp);
  if (!fingerprint) throw new Error('the answer carries no a=fingerprint');
  const setup = /^a=setup:(\S+)/m.exec(sdp)?.[1] ?? 'active';
  return { role: setup === 'passive' ? 'server' : 'client', fingerprints: [{ algorithm: fingerprint[1]!.toLowerCase(), value: fingerprint[2]!.toUpperCase() }] };
}
