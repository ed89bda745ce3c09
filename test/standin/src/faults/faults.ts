/**
 * Fault switches for tests and demos: close voice sockets with chosen codes, black-hole UDP, send
 * malformed, truncated or unmapped-ssrc packets, undocumented opcodes, and a speaker's Speaking op 5
 * sent late (after its first packets).
 */
import { randomBytes } from 'node:crypto';
import { buildRtpHeader, OPUS_SILENCE_FRAME, UndocumentedVoiceOp } from '@promethean/shared/providers/discord';
import { StandinConfigError } from '../util/errors.ts';
import type { DelayedSpeaking, VoiceServer } from '../voice/server.ts';

export type { DelayedSpeaking };

export type MalformedKind =
  /** 6 bytes: shorter than any header. */
  | 'truncated'
  /** A 12-byte RTP header and nothing else. */
  | 'header-only'
  /** A valid-looking header, random body (fails authentication). */
  | 'bad-tag'
  /** RTP version 1. */
  | 'bad-version'
  /** 200 random bytes. */
  | 'garbage';

export interface MalformedOptions {
  kind: MalformedKind;
  /** ssrc in the header (default: a fresh one nobody announced). Use a speaker's ssrc to hit a mapped stream. */
  ssrc?: number;
  count?: number;
}

export class Faults {
  readonly #voice: VoiceServer;
  /** How many of each fault were injected. */
  readonly injected = { closes: 0, udpDrops: 0, malformed: 0, unmapped: 0, unknownOps: 0, lateSpeaking: 0 };

  constructor(voice: VoiceServer) {
    this.#voice = voice;
  }

  /**
   * Closes voice WebSockets (every client's, or one user's) with `code`. 1006 drops the TCP connection
   * without a close frame, which is how a client sees 1006. Returns how many were closed.
   */
  closeVoice(code: number, userId?: string): number {
    let n = 0;
    for (const s of this.#voice.sessions()) {
      if (userId !== undefined && s.userId !== userId) continue;
      if (!s.ws) continue;
      s.close(code, `stand-in fault ${code}`);
      n++;
    }
    this.injected.closes += n;
    return n;
  }

  /** Drops all voice UDP, in and out, for `ms`. */
  dropUdp(ms: number): void {
    this.injected.udpDrops++;
    this.#voice.udp.blockFor(ms);
  }

  /** Sends malformed datagrams to every ready client. Returns datagrams sent. */
  sendMalformed(options: MalformedOptions): number {
    const ssrc = options.ssrc ?? this.#voice.newSsrc();
    let sent = 0;
    for (let i = 0; i < (options.count ?? 1); i++) {
      sent += this.#voice.sendRawToClients(malformed(options.kind, ssrc, i));
    }
    this.injected.malformed += sent;
    return sent;
  }

  /** Sends correctly encrypted Opus from an ssrc no op 5 ever announced. Returns datagrams sent. */
  sendFromUnmappedSsrc(count = 5, ssrc = this.#voice.newSsrc()): number {
    let sent = 0;
    for (let i = 0; i < count; i++) {
      const { clear } = buildRtpHeader({ sequence: i, timestamp: i * 960, ssrc });
      sent += this.#voice.sendSealedToClients(clear, OPUS_SILENCE_FRAME);
    }
    this.injected.unmapped += sent;
    return sent;
  }

  /**
   * Delays the Speaking op 5 of a speaker's next talk-spurt (`speaker`: name or user id) until
   * `delayMs` after the spurt's first packet went out, so clients get that many ms of RTP from an ssrc
   * they cannot map yet. One-shot; arm it before `speakers.play()`. Resolves once op 5 was sent, with
   * the spurt's first sequence number and how many packets preceded op 5 (`sent: false` when the
   * speaker left or the stand-in closed first). Throws StandinConfigError for an unknown speaker or a
   * bad delay, InvalidStateError when one is already armed for the speaker.
   */
  delaySpeaking(speaker: string, delayMs: number): Promise<DelayedSpeaking> {
    if (!(Number.isFinite(delayMs) && delayMs >= 0)) throw new StandinConfigError(`delayMs must be a finite number ≥ 0, not ${delayMs}`, { path: 'delayMs' });
    const handle = this.#voice.view().speakers().find((s) => s.name === speaker || s.userId === speaker);
    if (!handle) throw new StandinConfigError(`no speaker "${speaker}" in the voice channel`, { path: 'speaker' });
    const done = this.#voice.delaySpeaking(handle, delayMs);
    this.injected.lateSpeaking++;
    return done;
  }

  /** Sends JSON ops clients must ignore to every ready client (default: 12 and 14–20). */
  sendUnknownOps(ops: number[] = [UndocumentedVoiceOp.Video, 14, 15, 16, 17, 18, 19, 20]): number {
    let sent = 0;
    for (const s of this.#voice.sessions()) {
      if (!s.ready) continue;
      for (const op of ops) {
        s.sendJson(op, { standin_fault: true, user_id: s.userId });
        sent++;
      }
    }
    this.injected.unknownOps += sent;
    return sent;
  }
}

function malformed(kind: MalformedKind, ssrc: number, i: number): Uint8Array {
  switch (kind) {
    case 'truncated':
      return Uint8Array.of(0x80, 0x78, 0, i & 0xff, 0, 0);
    case 'header-only':
      return buildRtpHeader({ sequence: i, timestamp: i * 960, ssrc }).clear;
    case 'bad-tag': {
      const { clear } = buildRtpHeader({ sequence: i, timestamp: i * 960, ssrc });
      const out = new Uint8Array(clear.byteLength + 40);
      out.set(clear);
      out.set(randomBytes(40), clear.byteLength);
      return out;
    }
    case 'bad-version': {
      const p = buildRtpHeader({ sequence: i, timestamp: i * 960, ssrc }).clear;
      const out = new Uint8Array(p.byteLength + 30);
      out.set(p);
      out[0] = 0x40;
      return out;
    }
    case 'garbage':
      return new Uint8Array(randomBytes(200));
  }
}
