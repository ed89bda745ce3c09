/**
 * In-process wiring of a DaveServer to DaveParticipants, no sockets: every message still goes through
 * its byte / JSON encoding (server binary frames with seq, client frames with op byte, JSON text) and is
 * delivered on a later tick, as a socket would. Used by the standalone tests.
 */
import { DaveParticipant, type DaveParticipantTransport } from './DaveParticipant.ts';
import type { DaveServer } from './DaveServer.ts';
import { encodeServerBinary } from './opcodes.ts';

export interface LoopbackLog {
  dir: 'S>C' | 'C>S';
  userId: string;
  op: number;
  bytes: number;
}

/** Any DAVE client the loopback can drive (DaveParticipant, or an adapter around another library). */
export interface DaveClientLike {
  readonly userId: string;
  handleJson(op: number, d: Record<string, unknown>): void;
  handleBinary(frame: Uint8Array): void;
  start(): void;
  close(): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

export type DaveClientFactory<T extends DaveClientLike> = (userId: string, channelId: string, transport: DaveParticipantTransport) => T;

const participantFactory: DaveClientFactory<DaveParticipant> = (u, c, t) => new DaveParticipant(u, c, t);

export class DaveLoopback<T extends DaveClientLike = DaveParticipant> {
  readonly participants = new Map<string, T>();
  readonly log: LoopbackLog[] = [];
  private readonly seq = new Map<string, number>();
  private readonly errors: Error[] = [];

  private readonly factory: DaveClientFactory<T>;

  readonly server: DaveServer;
  readonly channelId: string;

  constructor(server: DaveServer, channelId: string, factory?: DaveClientFactory<T>) {
    this.server = server;
    this.channelId = channelId;
    this.factory = factory ?? (participantFactory as unknown as DaveClientFactory<T>);
  }

  /** Joins `userId` the way a DAVE client does after op 4 (server sends op 25, client its key package). */
  join(userId: string): T {
    this.participants.get(userId)?.close();
    const p: T = this.factory(userId, this.channelId, {
      sendJson: (op, d) => {
        const text = JSON.stringify({ op, d });
        this.log.push({ dir: 'C>S', userId, op, bytes: text.length });
        setImmediate(() => {
          const msg = JSON.parse(text) as { op: number; d: unknown };
          if (this.participants.get(userId) === p) this.server.clientJson(userId, msg.op, msg.d);
        });
      },
      sendBinary: (frame) => {
        this.log.push({ dir: 'C>S', userId, op: frame[0] ?? -1, bytes: frame.length });
        setImmediate(() => {
          if (this.participants.get(userId) === p) this.server.clientBinary(userId, frame);
        });
      },
    });
    p.on('error', (e: Error) => this.errors.push(e));
    this.participants.set(userId, p);
    this.seq.set(userId, 0);
    // existing members are announced the way the voice server does (op 11) before DAVE starts
    const others = [...this.participants.keys()].filter((u) => u !== userId);
    if (others.length > 0) p.handleJson(11, { user_ids: others });
    this.server.memberReady(this.channelId, userId, {
      sendJson: (op, d) => {
        const text = JSON.stringify({ op, d, seq: this.nextSeq(userId) });
        this.log.push({ dir: 'S>C', userId, op, bytes: text.length });
        setImmediate(() => {
          const msg = JSON.parse(text) as { op: number; d: Record<string, unknown> };
          if (this.participants.get(userId) === p) p.handleJson(msg.op, msg.d);
        });
      },
      sendBinary: (op, payload) => {
        const frame = encodeServerBinary(this.nextSeq(userId), op, payload);
        this.log.push({ dir: 'S>C', userId, op, bytes: frame.length });
        setImmediate(() => {
          if (this.participants.get(userId) === p) p.handleBinary(frame);
        });
      },
    });
    p.start();
    return p;
  }

  /** `userId` leaves: the others get op 13, the group a leave. */
  leave(userId: string): void {
    this.participants.get(userId)?.close();
    this.participants.delete(userId);
    for (const p of this.participants.values()) p.handleJson(13, { user_id: userId });
    this.server.memberLeft(userId);
  }

  /** Errors participants hit while handling server messages. */
  takeErrors(): Error[] {
    return this.errors.splice(0);
  }

  /** Resolves when `cond()` holds, polling every 5 ms; rejects after `timeoutMs`. */
  async until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  close(): void {
    for (const p of this.participants.values()) p.close();
    this.participants.clear();
  }

  private nextSeq(userId: string): number {
    const n = (this.seq.get(userId) ?? 0) + 1;
    this.seq.set(userId, n);
    return n;
  }
}
