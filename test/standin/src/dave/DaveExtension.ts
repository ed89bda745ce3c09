/**
 * DAVE for the stand-in's voice server, as a VoiceServerExtension: negotiates protocol version 1 with
 * clients that offer it (when `--dave` is on), runs the channel's DAVE group, and makes every simulated
 * speaker a real DAVE participant (a davey session) that end-to-end encrypts its Opus frames before
 * transport encryption and decrypts the bot's frames for the recording.
 */
import { EventEmitter } from 'node:events';
import type { SpeakerHandle, VoiceClientHandle, VoiceServerExtension, VoiceServerView } from '../voice/extension.ts';
import type { DaveParticipant } from './DaveParticipant.ts';
import { DaveServer, type DaveServerOptions } from './DaveServer.ts';
import { DaveProtocolError } from './errors.ts';
import { DaveLoopback } from './loopback.ts';
import { encodeClientBinary, OPUS_SILENCE } from './opcodes.ts';

export type DaveExtensionOptions = Partial<DaveServerOptions>;

export interface DaveExtensionEvents {
  /** A speaker frame before (plain) and after (what goes on the wire) the E2EE layer. */
  speakerFrame: [userId: string, plain: Uint8Array, wire: Uint8Array];
  /** A client frame after transport decryption (wire) and after DAVE decryption (plain, or null). */
  clientFrame: [userId: string, wire: Uint8Array, plain: Uint8Array | null];
  debug: [message: string];
}

export class DaveExtension extends EventEmitter<DaveExtensionEvents> implements VoiceServerExtension {
  readonly name = 'dave';
  readonly counters = {
    clientFramesDecrypted: 0,
    /** Frames without the DAVE marker from a client no session can decrypt for (e.g. alone, not yet in a group). */
    clientFramesPassthrough: 0,
    clientFramesFailed: 0,
    speakerFramesEncrypted: 0,
    speakerFramesPlain: 0,
    /** Speaker frames sent unencrypted by the `plainFramesFrom` fault. */
    speakerFramesFaultPlain: 0,
  };
  private serverValue: DaveServer | undefined;
  private speakersLink: DaveLoopback | undefined;
  private view: VoiceServerView | undefined;
  /** userId → negotiated DAVE version for clients. */
  private readonly negotiated = new Map<string, number>();
  /** userId → the client's current voice session (a reconnect replaces it before the old one is gone). */
  private readonly current = new Map<string, VoiceClientHandle>();

  private readonly options: DaveExtensionOptions;

  constructor(options: DaveExtensionOptions = {}) {
    super();
    this.options = options;
  }

  /** The DAVE server (available after attach()). */
  get server(): DaveServer {
    if (this.serverValue === undefined) throw new DaveProtocolError('DaveExtension used before attach()');
    return this.serverValue;
  }

  /** Simulated speakers' DAVE sessions by user id. */
  get participants(): ReadonlyMap<string, DaveParticipant> {
    return this.speakersLink?.participants ?? new Map();
  }

  async attach(view: VoiceServerView): Promise<void> {
    this.view = view;
    this.serverValue = await DaveServer.create(this.options);
    this.serverValue.on('debug', (m) => this.emit('debug', m));
    this.serverValue.on('rejected', (u, e) => view.log(`[dave] refused from ${u}: ${e.message}`));
    this.speakersLink = new DaveLoopback(this.serverValue, view.channelId);
    if (this.serverValue.options.enabled) for (const s of view.speakers()) this.speakerJoined(s.userId);
  }

  sessionDescription(client: VoiceClientHandle): Record<string, unknown> {
    const version = this.server.negotiate(client.maxDaveProtocolVersion);
    this.negotiated.set(client.userId, version);
    return { dave_protocol_version: version };
  }

  onClientReady(client: VoiceClientHandle): void {
    if ((this.negotiated.get(client.userId) ?? 0) === 0) return;
    this.current.set(client.userId, client);
    this.server.memberReady(this.view?.channelId ?? '', client.userId, {
      sendJson: (op, d) => client.sendJson(op, d),
      sendBinary: (op, payload) => client.sendBinary(op, payload),
    });
  }

  onJson(client: VoiceClientHandle, op: number, d: unknown): boolean {
    if (this.current.get(client.userId) !== client) return op === 23 || op === 31; // stale or non-DAVE session
    return this.server.clientJson(client.userId, op, d);
  }

  onBinary(client: VoiceClientHandle, op: number, payload: Uint8Array): void {
    if (this.current.get(client.userId) !== client) return;
    this.server.clientBinary(client.userId, encodeClientBinary(op, payload));
  }

  onClientGone(client: VoiceClientHandle): void {
    if (this.current.get(client.userId) !== client) return; // an older session of a user who reconnected
    this.current.delete(client.userId);
    this.negotiated.delete(client.userId);
    this.server.memberLeft(client.userId);
  }

  onMemberJoin(userId: string): void {
    if (this.isSpeaker(userId) && this.server.options.enabled) this.speakerJoined(userId);
  }

  onMemberLeave(userId: string): void {
    if (this.participants.has(userId)) this.speakersLink?.leave(userId);
  }

  transformSpeakerFrame(speaker: SpeakerHandle, frame: Uint8Array): Uint8Array {
    const p = this.participants.get(speaker.userId);
    if (p === undefined) return frame;
    const plain = this.server.groups.get(this.view?.channelId ?? '')?.faults.plainFramesFrom;
    if (plain !== undefined && plain.userId === speaker.userId && plain.frames > 0 && !Buffer.from(frame).equals(OPUS_SILENCE)) {
      // fault: this client sends unencrypted frames, as one whose keys have not arrived yet
      plain.frames--;
      this.counters.speakerFramesPlain++;
      this.counters.speakerFramesFaultPlain++;
      this.emit('speakerFrame', speaker.userId, frame, frame);
      return frame;
    }
    const wire = p.encryptOpus(Buffer.from(frame.buffer, frame.byteOffset, frame.length));
    if (wire.length !== frame.length || !wire.equals(frame)) this.counters.speakerFramesEncrypted++;
    else this.counters.speakerFramesPlain++;
    this.emit('speakerFrame', speaker.userId, frame, wire);
    return wire;
  }

  transformClientFrame(client: VoiceClientHandle, frame: Uint8Array): Uint8Array {
    if ((this.negotiated.get(client.userId) ?? 0) === 0) return frame;
    const buf = Buffer.from(frame.buffer, frame.byteOffset, frame.length);
    // Any speaker in the group can decrypt the bot's frames; the first ready one does it.
    const p = [...this.participants.values()].find((x) => x.ready && x.session.getUserIds().includes(client.userId));
    const plain = p?.decryptOpus(client.userId, buf) ?? null;
    if (plain === null && !hasDaveMarker(buf)) {
      // Not E2EE (the client is alone or not yet in a group): record it as it came.
      this.counters.clientFramesPassthrough++;
      this.emit('clientFrame', client.userId, frame, frame);
      return frame;
    }
    this.emit('clientFrame', client.userId, frame, plain);
    if (plain === null) {
      this.counters.clientFramesFailed++;
      throw new DaveProtocolError(`cannot DAVE-decrypt a frame from ${client.userId}`);
    }
    this.counters.clientFramesDecrypted++;
    return plain;
  }

  close(): void {
    this.speakersLink?.close();
    this.serverValue?.close();
  }

  private isSpeaker(userId: string): boolean {
    return this.view?.speakers().some((s) => s.userId === userId) ?? false;
  }

  private speakerJoined(userId: string): void {
    const link = this.speakersLink;
    if (link === undefined || link.participants.has(userId)) return;
    const p = link.join(userId);
    // speakers learn about every user already in the channel, bots included (op 11)
    const others = (this.view?.usersInChannel() ?? []).filter((u) => u !== userId);
    if (others.length > 0) p.handleJson(11, { user_ids: others });
  }
}

/** DAVE frames end with the magic marker FA FA. */
function hasDaveMarker(frame: Buffer): boolean {
  return frame.length >= 2 && frame[frame.length - 1] === 0xfa && frame[frame.length - 2] === 0xfa;
}
