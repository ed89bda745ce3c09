/**
 * @discordjs/voice 0.19's own exported DAVESession, unmodified, driven by server messages exactly as its
 * Networking class dispatches them (voice/dist `onWsPacket` / `onWsBinary`, read, not copied): op 11/13
 * keep the connected set, 21/22/24 go to prepare/execute/prepareEpoch, 25/27/29/30 to the session, and
 * its replies (23, 26, 28, 31) go back. Lets standalone tests show what the library itself does.
 */
import { DAVESession } from '@discordjs/voice';
import { EventEmitter } from 'node:events';
import type { DaveParticipantTransport } from './DaveParticipant.ts';
import { DaveOp, decodeServerBinary, encodeClientBinary } from './opcodes.ts';

export class DiscordjsDaveClient extends EventEmitter<{ error: [Error]; transitioned: [number]; debug: [string] }> {
  readonly dave: DAVESession;
  readonly connected = new Set<string>();

  readonly userId: string;
  readonly channelId: string;
  private readonly transport: DaveParticipantTransport;

  constructor(userId: string, channelId: string, transport: DaveParticipantTransport, decryptionFailureTolerance?: number) {
    super();
    this.userId = userId;
    this.channelId = channelId;
    this.transport = transport;
    this.dave = new DAVESession(1, userId, channelId, { decryptionFailureTolerance });
    this.dave.on('error', (e) => this.emit('error', e));
    this.dave.on('debug', (m) => this.emit('debug', m));
    this.dave.on('keyPackage', (kp) => this.transport.sendBinary(encodeClientBinary(DaveOp.MlsKeyPackage, kp)));
    this.dave.on('invalidateTransition', (id) => this.transport.sendJson(DaveOp.MlsInvalidCommitWelcome, { transition_id: id }));
  }

  start(): void {
    this.dave.reinit();
  }

  get epoch(): bigint | null {
    // the typed surface hides davey's `epoch`; it is there at run time
    return (this.dave.session as { epoch?: bigint | null } | undefined)?.epoch ?? null;
  }
  get ready(): boolean {
    return this.dave.session?.ready ?? false;
  }

  handleJson(op: number, d: Record<string, unknown>): void {
    if (op === 11) for (const id of d.user_ids as string[]) this.connected.add(id);
    else if (op === 13) this.connected.delete(String(d.user_id));
    else if (op === DaveOp.PrepareTransition) {
      const data = d as { transition_id: number; protocol_version: number };
      if (this.dave.prepareTransition(data)) this.transport.sendJson(DaveOp.TransitionReady, { transition_id: data.transition_id });
      if (data.transition_id === 0) this.emit('transitioned', 0);
    } else if (op === DaveOp.ExecuteTransition) {
      const id = Number(d.transition_id);
      if (this.dave.executeTransition(id)) this.emit('transitioned', id);
    } else if (op === DaveOp.PrepareEpoch) this.dave.prepareEpoch(d as { epoch: number; protocol_version: number });
  }

  handleBinary(frame: Uint8Array): void {
    const { op, payload } = decodeServerBinary(frame);
    // The library lets these throw out of its WebSocket handler; surface them as 'error' here.
    try {
      if (op === DaveOp.MlsExternalSender) this.dave.setExternalSender(payload);
      else if (op === DaveOp.MlsProposals) {
        const out = this.dave.processProposals(payload, this.connected);
        if (out) this.transport.sendBinary(encodeClientBinary(DaveOp.MlsCommitWelcome, out));
      } else if (op === DaveOp.MlsAnnounceCommitTransition || op === DaveOp.MlsWelcome) {
        const r = op === DaveOp.MlsWelcome ? this.dave.processWelcome(payload) : this.dave.processCommit(payload);
        if (r.success) {
          if (r.transitionId === 0) this.emit('transitioned', 0);
          else this.transport.sendJson(DaveOp.TransitionReady, { transition_id: r.transitionId });
        }
      }
    } catch (error) {
      this.emit('error', error as Error);
    }
  }

  /** The library's own send path: E2EE unless silence / not ready. */
  encrypt(frame: Buffer): Buffer {
    return this.dave.encrypt(frame);
  }

  /** The library's own receive path: null when it drops the frame. */
  decrypt(frame: Buffer, senderId: string): Buffer | null {
    return this.dave.decrypt(frame, senderId);
  }

  close(): void {
    this.dave.destroy();
  }
}
