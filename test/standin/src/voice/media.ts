/**
 * The voice server's media path: speaker frames out (extension transform, RTP header with `BE DE`,
 * per-client transport encryption) and client RTP in (parse, decrypt, forward to the other clients,
 * extension transform, `clientFrame`).
 */
import { audioLevelElement, buildRtpHeader, decryptRtpSize, encryptRtpSize, parseRtpHeader } from '@promethean/shared/providers/discord';
import type { RtpHeader } from '@promethean/shared/providers/discord';
import type { SpeakerHandle, VoiceServerExtension } from './extension.ts';
import type { VoiceServerCounters } from './server.ts';
import type { VoiceSession } from './session.ts';
import type { VoiceUdp } from './udp.ts';

export interface ClientFrame {
  session: VoiceSession;
  header: RtpHeader;
  /** After transport decryption and extension transforms (Opus). */
  frame: Uint8Array;
  receivedAt: number;
}

export interface SpeakerRtp {
  sequence: number;
  timestamp: number;
  marker: boolean;
  /** Audio level in -dBov for the RFC 6464 element (127 = silence). */
  levelDbov: number;
}

export interface MediaContext {
  udp: VoiceUdp;
  sessions(): Iterable<VoiceSession>;
  bySsrc(ssrc: number): VoiceSession | undefined;
  extensions: readonly VoiceServerExtension[];
  counters: VoiceServerCounters;
  headerExtension: boolean;
  log(message: string): void;
  emitFrame(frame: ClientFrame): void;
}

/** Encrypts `plain` for each ready client (except `skip`) with its own key and counter, and sends it. */
export function sendToClients(ctx: MediaContext, clear: Uint8Array, plain: Uint8Array, skip: VoiceSession | undefined): number {
  let sent = 0;
  for (const s of ctx.sessions()) {
    if (s === skip || !s.ready || s.ended || !s.remote || !s.mode || !s.secretKey) continue;
    const packet = encryptRtpSize(s.mode, s.secretKey, clear, plain, s.nonce.next());
    if (ctx.udp.send(packet, s.remote.port, s.remote.address)) {
      s.stats.packetsOut++;
      sent++;
    }
  }
  return sent;
}

/** One speaker frame to every ready client; returns the number of clients reached. */
export function forwardSpeakerFrame(ctx: MediaContext, speaker: SpeakerHandle, rtp: SpeakerRtp, frame: Uint8Array): number {
  let payload = frame;
  for (const e of ctx.extensions) {
    if (!e.transformSpeakerFrame) continue;
    try {
      payload = e.transformSpeakerFrame(speaker, payload);
    } catch (error) {
      ctx.counters.transformFailures++;
      ctx.log(`extension ${e.name} transformSpeakerFrame threw: ${(error as Error).message}`);
      return 0;
    }
  }
  const { clear, extensionBody } = buildRtpHeader({
    sequence: rtp.sequence,
    timestamp: rtp.timestamp,
    ssrc: speaker.ssrc,
    marker: rtp.marker,
    ...(ctx.headerExtension ? { extension: [audioLevelElement(rtp.levelDbov, rtp.levelDbov < 127)] } : {}),
  });
  const plain = new Uint8Array(extensionBody.byteLength + payload.byteLength);
  plain.set(extensionBody);
  plain.set(payload, extensionBody.byteLength);
  return sendToClients(ctx, clear, plain, undefined);
}

/** A datagram that looked like RTP from a client: decrypt as Discord would, forward, report. */
export function handleClientRtp(ctx: MediaContext, packet: Buffer): void {
  ctx.counters.rtpIn++;
  let header: RtpHeader;
  try {
    header = parseRtpHeader(packet);
  } catch {
    ctx.counters.rtpMalformed++;
    return;
  }
  const session = ctx.bySsrc(header.ssrc);
  if (!session || !session.ready || !session.mode || !session.secretKey) {
    ctx.counters.rtpUnknownSsrc++;
    return;
  }
  session.stats.packetsIn++;
  let frame: Uint8Array;
  try {
    frame = decryptRtpSize(session.mode, session.secretKey, packet).payload;
  } catch {
    ctx.counters.decryptFailures++;
    session.stats.decryptFailures++;
    return;
  }
  // Other clients get the frame as its sender made it (end-to-end layer untouched), re-encrypted per client.
  const { clear } = buildRtpHeader({ sequence: header.sequence, timestamp: header.timestamp, ssrc: header.ssrc, marker: header.marker });
  sendToClients(ctx, clear, frame, session);
  for (const e of ctx.extensions) {
    if (!e.transformClientFrame) continue;
    try {
      frame = e.transformClientFrame(session, frame);
    } catch (error) {
      ctx.counters.transformFailures++;
      ctx.log(`extension ${e.name} transformClientFrame threw: ${(error as Error).message}`);
      return;
    }
  }
  ctx.emitFrame({ session, header, frame, receivedAt: Date.now() });
}
