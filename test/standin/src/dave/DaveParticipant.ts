/**
 * A simulated speaker as a real DAVE participant: a @snazzah/davey session driven by the voice
 * server's DAVE messages, the way a Discord client drives it. It encrypts its Opus frames end to end
 * (never the F8 FF FE silence frame) and decrypts other members' frames.
 */
import davey from '@snazzah/davey';
import { EventEmitter } from 'node:events';
import { DaveProtocolError } from './errors.ts';
import { DaveOp, OPUS_SILENCE, decodeServerBinary, encodeClientBinary } from './opcodes.ts';

/** What the participant sends to the voice server. */
export interface DaveParticipantTransport {
  sendJson(op: number, d: Record<string, unknown>): void;
  /** A complete client → server binary frame (`u8 op | payload`). */
  sendBinary(frame: Buffer): void;
}

export interface DaveParticipantEvents {
  /** op 29 / 30 applied (transitionId) — or failed and op 31 was sent. */
  transition: [info: { transitionId: number; ok: boolean; epoch: bigint | null }];
  executed: [transitionId: number];
  error: [error: Error];
}

const AUDIO = 0; // davey MediaType.AUDIO (its const enums are not runtime objects)

export class DaveParticipant extends EventEmitter<DaveParticipantEvents> {
  readonly session: InstanceType<typeof davey.DAVESession>;
  readonly connected = new Set<string>();
  protocolVersion = 1;
  readonly counters = { encrypted: 0, passthrough: 0, decrypted: 0, decryptFailures: 0, invalid: 0 };
  private readonly pending = new Map<number, number>();

  readonly userId: string;
  readonly channelId: string;
  private readonly transport: DaveParticipantTransport;

  constructor(userId: string, channelId: string, transport: DaveParticipantTransport) {
    super();
    this.userId = userId;
    this.channelId = channelId;
    this.transport = transport;
    this.session = new davey.DAVESession(1, userId, channelId);
  }

  /** Sends the first key package (what a client does on Session Description with DAVE v1). */
  start(): void {
    this.sendKeyPackage();
  }

  get epoch(): bigint | null {
    return this.session.epoch;
  }
  get ready(): boolean {
    return this.session.ready;
  }

  /** Handles one server JSON message (`op`, `d`). */
  handleJson(op: number, d: Record<string, unknown>): void {
    if (op === 11) for (const id of (d.user_ids as string[] | undefined) ?? []) this.connected.add(id);
    else if (op === 13) this.connected.delete(String(d.user_id));
    else if (op === DaveOp.PrepareTransition) {
      const id = Number(d.transition_id);
      this.pending.set(id, Number(d.protocol_version));
      if (id === 0) this.execute(0);
      else this.transport.sendJson(DaveOp.TransitionReady, { transition_id: id });
    } else if (op === DaveOp.ExecuteTransition) this.execute(Number(d.transition_id));
    else if (op === DaveOp.PrepareEpoch && Number(d.epoch) === 1) {
      this.protocolVersion = Number(d.protocol_version);
      this.session.reinit(this.protocolVersion, this.userId, this.channelId);
      this.sendKeyPackage();
    }
  }

  /** Handles one server binary frame (`u16 seq | u8 op | payload`). */
  handleBinary(frame: Uint8Array): void {
    let msg;
    try {
      msg = decodeServerBinary(frame);
    } catch (error) {
      this.emit('error', error as Error);
      return;
    }
    const { op, payload } = msg;
    try {
      if (op === DaveOp.MlsExternalSender) this.session.setExternalSender(payload);
      else if (op === DaveOp.MlsProposals) {
        const result = this.session.processProposals(payload.readUInt8(0), payload.subarray(1), [...this.connected]);
        if (result.commit !== undefined) {
          const body = result.welcome === undefined ? result.commit : Buffer.concat([result.commit, result.welcome]);
          this.transport.sendBinary(encodeClientBinary(DaveOp.MlsCommitWelcome, body));
        }
      } else if (op === DaveOp.MlsAnnounceCommitTransition || op === DaveOp.MlsWelcome) this.applyTransition(op, payload);
    } catch (error) {
      this.emit('error', new DaveProtocolError(`op ${op} failed: ${(error as Error).message}`, { cause: error }));
    }
  }

  /** End-to-end encrypts an Opus frame; silence and not-yet-ready sessions pass through. */
  encryptOpus(frame: Buffer): Buffer {
    if (frame.equals(OPUS_SILENCE) || this.protocolVersion === 0 || !this.session.ready) {
      this.counters.passthrough++;
      return frame;
    }
    this.counters.encrypted++;
    return this.session.encryptOpus(frame);
  }

  /** Decrypts `senderId`'s frame; returns null when it cannot (counted). Silence passes through. */
  decryptOpus(senderId: string, frame: Buffer): Buffer | null {
    if (frame.equals(OPUS_SILENCE)) return frame;
    try {
      const out = this.session.decrypt(senderId, AUDIO, frame);
      this.counters.decrypted++;
      return out;
    } catch {
      this.counters.decryptFailures++;
      return null;
    }
  }

  close(): void {
    try {
      this.session.reset();
    } catch {
      // already reset
    }
  }

  private sendKeyPackage(): void {
    this.transport.sendBinary(encodeClientBinary(DaveOp.MlsKeyPackage, this.session.getSerializedKeyPackage()));
  }

  private applyTransition(op: number, payload: Buffer): void {
    const transitionId = payload.readUInt16BE(0);
    try {
      if (op === DaveOp.MlsAnnounceCommitTransition) this.session.processCommit(payload.subarray(2));
      else this.session.processWelcome(payload.subarray(2));
    } catch {
      this.counters.invalid++;
      this.transport.sendJson(DaveOp.MlsInvalidCommitWelcome, { transition_id: transitionId });
      this.session.reinit(this.protocolVersion, this.userId, this.channelId);
      this.sendKeyPackage();
      this.emit('transition', { transitionId, ok: false, epoch: this.session.epoch });
      return;
    }
    if (transitionId !== 0) {
      this.pending.set(transitionId, this.protocolVersion);
      this.transport.sendJson(DaveOp.TransitionReady, { transition_id: transitionId });
    }
    this.emit('transition', { transitionId, ok: true, epoch: this.session.epoch });
  }

  private execute(transitionId: number): void {
    const version = this.pending.get(transitionId);
    if (version === undefined) return;
    this.pending.delete(transitionId);
    this.protocolVersion = version;
    this.emit('executed', transitionId);
  }
}
