/**
 * The stand-in voice server's DAVE layer: one external sender for the server, one DaveGroup per voice
 * channel, and the routing of client DAVE messages (binary ops 26/28, JSON ops 23/31) to the right
 * group. `--dave` off → every client negotiates protocol version 0 (transport encryption only).
 */
import { EventEmitter } from 'node:events';
import { DaveGroup, type DaveGroupEvents } from './DaveGroup.ts';
import { DaveProtocolError } from './errors.ts';
import { createExternalSender, type ExternalSenderKey } from './externalSender.ts';
import { defaultDaveFaults, type DaveFaults } from './faults.ts';
import { DaveOp, decodeClientBinary } from './opcodes.ts';

/** How the DAVE layer reaches one connected client. */
export interface DaveMemberLink {
  sendJson(op: number, d: Record<string, unknown>): void;
  /** Sends a server binary message; the link adds `u16 seq | u8 op`. */
  sendBinary(op: number, payload: Buffer): void;
}

export interface DaveServerOptions {
  /** `--dave`: offer DAVE v1 to clients that can do it. Off → transport encryption only. */
  enabled: boolean;
  /** Highest DAVE protocol version this server speaks. */
  maxProtocolVersion: number;
  /** See DaveGroupOptions.readyTimeoutMs. */
  readyTimeoutMs: number;
  /** Initial fault switches copied into every group. */
  faults: DaveFaults;
}

export const defaultDaveServerOptions: DaveServerOptions = {
  enabled: false,
  maxProtocolVersion: 1,
  readyTimeoutMs: 3000,
  faults: defaultDaveFaults,
};

export interface DaveServerEvents {
  group: [group: DaveGroup];
  /** Every DAVE message the server sent (for tests and logs). */
  sent: [userId: string, op: number, bytes: number];
  /** A client message the DAVE layer refused (counted in `counters.badMessages`). */
  rejected: [userId: string, error: Error];
  debug: [message: string];
}

export class DaveServer extends EventEmitter<DaveServerEvents> {
  readonly options: DaveServerOptions;
  readonly groups = new Map<string, DaveGroup>();
  readonly counters = { badMessages: 0, unknownUser: 0 };
  private readonly links = new Map<string, { channelId: string; link: DaveMemberLink }>();
  private closed = false;

  readonly sender: ExternalSenderKey;

  private constructor(sender: ExternalSenderKey, options: DaveServerOptions) {
    super();
    this.sender = sender;
    this.options = options;
  }

  static async create(options: Partial<DaveServerOptions> = {}): Promise<DaveServer> {
    return new DaveServer(await createExternalSender(), { ...defaultDaveServerOptions, ...options });
  }

  /** `dave_protocol_version` for op 4, from the client's op 0 `max_dave_protocol_version`. */
  negotiate(maxDaveProtocolVersion: unknown): number {
    if (!this.options.enabled) return 0;
    const offered = typeof maxDaveProtocolVersion === 'number' && Number.isInteger(maxDaveProtocolVersion) ? maxDaveProtocolVersion : 0;
    return Math.max(0, Math.min(offered, this.options.maxProtocolVersion));
  }

  /** The group of `channelId`, created on first use. */
  group(channelId: string): DaveGroup {
    let group = this.groups.get(channelId);
    if (group === undefined) {
      group = new DaveGroup(
        this.sender,
        {
          sendJson: (userId, op, d) => {
            this.emit('sent', userId, op, 0);
            this.links.get(userId)?.link.sendJson(op, d);
          },
          sendBinary: (userId, op, payload) => {
            this.emit('sent', userId, op, payload.length);
            this.links.get(userId)?.link.sendBinary(op, payload);
          },
        },
        { channelId, readyTimeoutMs: this.options.readyTimeoutMs, faults: this.options.faults },
      );
      group.on('rejected', (userId, error) => this.reject(userId, error));
      group.on('debug', (m) => this.emit('debug', `[${channelId}] ${m}`));
      this.groups.set(channelId, group);
      this.emit('group', group);
    }
    return group;
  }

  /**
   * A client negotiated DAVE (`negotiate()` > 0) and op 4 has been sent: it joins its channel's group
   * (op 25 goes out now). A second call for the same user replaces the old connection.
   */
  memberReady(channelId: string, userId: string, link: DaveMemberLink): void {
    if (this.closed) return;
    const previous = this.links.get(userId);
    if (previous !== undefined && previous.channelId !== channelId) this.groups.get(previous.channelId)?.leave(userId);
    this.links.set(userId, { channelId, link });
    this.group(channelId).join(userId);
  }

  /** The client left (op 4 with no channel, socket closed for good). */
  memberLeft(userId: string): void {
    const entry = this.links.get(userId);
    if (entry === undefined) return;
    this.groups.get(entry.channelId)?.leave(userId);
    this.links.delete(userId);
  }

  /** A client → server binary frame. Returns false when it was refused (counted). */
  clientBinary(userId: string, frame: Uint8Array): boolean {
    const entry = this.links.get(userId);
    if (entry === undefined) {
      this.counters.unknownUser++;
      return false;
    }
    let msg;
    try {
      msg = decodeClientBinary(frame);
    } catch (error) {
      this.reject(userId, error as Error);
      return false;
    }
    const group = this.group(entry.channelId);
    if (msg.op === DaveOp.MlsKeyPackage) group.keyPackage(userId, msg.payload);
    else group.commitWelcome(userId, msg.payload);
    return true;
  }

  /** A client JSON op; returns true when it was a DAVE op (23, 31) and was handled. */
  clientJson(userId: string, op: number, d: unknown): boolean {
    if (op !== DaveOp.TransitionReady && op !== DaveOp.MlsInvalidCommitWelcome) return false;
    const entry = this.links.get(userId);
    const id = (d as { transition_id?: unknown } | null)?.transition_id;
    if (entry === undefined || typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0xffff) {
      this.reject(userId, new DaveProtocolError(`op ${op} without a valid transition_id`));
      return true;
    }
    const group = this.group(entry.channelId);
    if (op === DaveOp.TransitionReady) group.transitionReady(userId, id);
    else group.invalidCommitWelcome(userId, id);
    return true;
  }

  /** Resolves when every group has handled its queued input. */
  async idle(): Promise<void> {
    await Promise.all([...this.groups.values()].map((g) => g.idle()));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const g of this.groups.values()) g.close();
    this.groups.clear();
    this.links.clear();
  }

  private reject(userId: string, error: Error): void {
    this.counters.badMessages++;
    this.emit('rejected', userId, error);
  }
}

export type { DaveGroupEvents };
