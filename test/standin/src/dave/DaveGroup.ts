/**
 * The voice server's side of DAVE for one voice channel: it never joins the MLS group, it proposes
 * (external sender), picks the first valid commit per epoch, announces it (op 29 to existing members,
 * op 30 Welcome to the added ones, cut per recipient) and runs the transition (op 23 ready → op 22).
 *
 * Every input is queued and handled one at a time; bad input is counted, never thrown at the caller.
 */
import { EventEmitter } from 'node:events';
import { DaveCommitRejectedError, DaveProtocolError } from './errors.ts';
import type { ExternalSenderKey } from './externalSender.ts';
import { deliverAnnounce } from './announce.ts';
import type { DaveFaults } from './faults.ts';
import {
  defaultDaveGroupOptions,
  type DaveGroupCounters,
  type DaveGroupEvents,
  type DaveGroupOptions,
  type DaveGroupStatus,
  type DaveGroupTransport,
  type Member,
} from './groupTypes.ts';
import { LeafTracker } from './leaves.ts';
import { encodeProposalsPayload, parseCommitWelcome, parseKeyPackage, snowflakeBytes, type ParsedKeyPackage } from './mls.ts';

export type { DaveGroupCounters, DaveGroupEvents, DaveGroupOptions, DaveGroupStatus, DaveGroupTransport };
import { DaveOp } from './opcodes.ts';
import { ProposalRound, type RoundItem } from './round.ts';
import { TransitionTracker } from './transitions.ts';

export class DaveGroup extends EventEmitter<DaveGroupEvents> {
  readonly options: DaveGroupOptions;
  readonly faults: DaveFaults;
  readonly counters: DaveGroupCounters = {
    keyPackages: 0, badKeyPackages: 0, commitsAccepted: 0, commitsRejected: 0, commitsLate: 0, invalidReports: 0, revokes: 0, transitions: 0,
  };
  readonly leaves = new LeafTracker();
  private readonly members = new Map<string, Member>();
  private readonly pendingRemovals = new Map<string, number>();
  private readonly groupId: Uint8Array;
  private round: ProposalRound | undefined;
  private readonly transitions: TransitionTracker;
  private queue: Promise<void> = Promise.resolve();
  private statusValue: DaveGroupStatus = 'idle';
  private epochValue = 0n;
  private protocolVersionValue = 1;
  private onExecutedHook: ((transitionId: number) => void) | undefined;

  private readonly sender: ExternalSenderKey;
  private readonly transport: DaveGroupTransport;

  constructor(sender: ExternalSenderKey, transport: DaveGroupTransport, options: Partial<DaveGroupOptions> & { channelId: string }) {
    super();
    this.sender = sender;
    this.transport = transport;
    this.options = { ...defaultDaveGroupOptions, ...options };
    this.faults = { ...this.options.faults };
    this.groupId = snowflakeBytes(this.options.channelId);
    this.transitions = new TransitionTracker(transport, this.options.readyTimeoutMs, this.faults, (tid, late) => {
      const hook = this.onExecutedHook;
      this.onExecutedHook = undefined;
      hook?.(tid);
      this.emit('executed', tid, late);
      this.setStatus(this.round === undefined ? 'stable' : this.status);
      this.enqueue(() => this.scheduleRound());
    });
  }

  get status(): DaveGroupStatus {
    return this.statusValue;
  }
  /** The group's current epoch; 0 while no group exists. */
  get epoch(): bigint {
    return this.epochValue;
  }
  /** The DAVE protocol version the channel runs (0 after a downgrade). */
  get protocolVersion(): number {
    return this.protocolVersionValue;
  }
  /** Users currently holding a leaf of the group. */
  get groupMembers(): string[] {
    return this.leaves.entries().map(([, u]) => u);
  }
  /** Resolves once every queued input has been handled. */
  idle(): Promise<void> {
    return this.queue;
  }

  /** A DAVE-capable client finished its handshake (op 4 sent): hand it the external sender (op 25). */
  join(userId: string): void {
    this.enqueue(async () => {
      if (this.members.has(userId)) await this.handleLeave(userId); // same user, new connection
      this.members.set(userId, { userId, keyPackage: undefined, keyPackages: 0, inGroup: false });
      this.transport.sendBinary(userId, DaveOp.MlsExternalSender, this.sender.payload);
    });
  }

  /** The client left the channel or its socket closed for good. */
  leave(userId: string): void {
    this.enqueue(() => this.handleLeave(userId));
  }

  /** op 26 from `userId`. */
  keyPackage(userId: string, payload: Buffer): void {
    this.enqueue(async () => {
      const member = this.members.get(userId);
      if (member === undefined) return this.reject(userId, new DaveProtocolError(`key package from unknown user ${userId}`));
      let parsed: ParsedKeyPackage;
      try {
        parsed = await parseKeyPackage(payload, this.sender.cs);
      } catch (error) {
        this.counters.badKeyPackages++;
        return this.reject(userId, error as Error);
      }
      if (parsed.userId !== userId) {
        this.counters.badKeyPackages++;
        return this.reject(userId, new DaveProtocolError(`key package names ${parsed.userId}, sent by ${userId}`));
      }
      this.counters.keyPackages++;
      member.keyPackages++;
      // A second key package means the client re-initialised (op 24 epoch 1 or its own recovery): its old
      // leaf must go, and its new pending group needs the external sender again.
      if (member.keyPackages > 1) this.transport.sendBinary(userId, DaveOp.MlsExternalSender, this.sender.payload);
      this.dropFromGroup(member);
      this.round?.revokeAddsFor(userId).forEach((refs, recipient) => this.sendRevoke(recipient, refs));
      member.keyPackage = parsed;
      await this.scheduleRound();
    });
  }

  /** op 28 from `userId`. */
  commitWelcome(userId: string, payload: Buffer): void {
    this.enqueue(async () => this.handleCommit(userId, payload));
  }

  /** op 23 from `userId`. */
  transitionReady(userId: string, transitionId: number): void {
    this.enqueue(async () => this.transitions.ready(userId, transitionId));
  }

  /** op 31 from `userId`: it could not apply our commit or welcome and will re-initialise. */
  invalidCommitWelcome(userId: string, transitionId: number): void {
    this.enqueue(async () => {
      this.counters.invalidReports++;
      this.emit('debug', `op 31 from ${userId} (transition ${transitionId})`);
      const member = this.members.get(userId);
      if (member !== undefined) this.dropFromGroup(member);
      this.transitions.forget(userId);
    });
  }

  /**
   * Protocol downgrade to transport-only (op 21 protocol_version 0 → op 23 from each → op 22); the
   * group is dissolved once it executes.
   */
  downgrade(): void {
    this.enqueue(async () => {
      if (this.transitions.busy || this.round !== undefined) this.round = undefined;
      const users = [...this.members.keys()];
      const tid = this.transitions.nextId();
      this.onExecutedHook = () => {
        this.protocolVersionValue = 0;
        this.leaves.clear();
        this.pendingRemovals.clear();
        this.epochValue = 0n;
        for (const m of this.members.values()) {
          m.inGroup = false;
          m.keyPackage = undefined;
        }
      };
      this.setStatus('transitioning');
      this.transitions.begin(tid, users);
      for (const u of users) this.transport.sendJson(u, DaveOp.PrepareTransition, { protocol_version: 0, transition_id: tid });
    });
  }

  /** Tell every member to start a new group (op 24 epoch 1): used for recovery and upgrades. */
  restart(protocolVersion = 1): void {
    this.enqueue(async () => {
      this.protocolVersionValue = protocolVersion;
      this.round = undefined;
      this.pendingRemovals.clear();
      this.leaves.clear();
      this.epochValue = 0n;
      for (const m of this.members.values()) {
        m.inGroup = false;
        m.keyPackage = undefined;
        this.transport.sendJson(m.userId, DaveOp.PrepareEpoch, { protocol_version: protocolVersion, epoch: 1 });
      }
      this.setStatus('idle');
    });
  }

  close(): void {
    if (this.statusValue === 'closed') return;
    this.transitions.close();
    this.round = undefined;
    this.setStatus('closed');
  }

  private enqueue(task: () => Promise<void> | void): void {
    this.queue = this.queue.then(async () => {
      if (this.statusValue === 'closed') return;
      try {
        await task();
      } catch (error) {
        this.emit('debug', `internal error: ${(error as Error).stack ?? String(error)}`);
      }
    });
  }

  private reject(userId: string, error: Error): void {
    this.emit('rejected', userId, error);
  }

  private setStatus(next: DaveGroupStatus): void {
    const prev = this.statusValue;
    if (prev === next || prev === 'closed') return;
    this.statusValue = next;
    this.emit('stateChange', prev, next);
  }

  /** Forget `member`'s leaf (removal proposed in the next round). */
  private dropFromGroup(member: Member): void {
    const leaf = this.leaves.leafOf(member.userId);
    if (leaf !== undefined && member.inGroup) this.pendingRemovals.set(member.userId, leaf);
    member.inGroup = false;
  }

  private async handleLeave(userId: string): Promise<void> {
    const member = this.members.get(userId);
    if (member === undefined) return;
    this.dropFromGroup(member);
    this.members.delete(userId);
    this.transitions.forget(userId);
    if (this.round !== undefined) {
      this.round.revokeAddsFor(userId).forEach((refs, recipient) => this.sendRevoke(recipient, refs));
      this.round.sent.delete(userId);
      if (this.round.empty || this.round.sent.size === 0) {
        this.round = undefined;
        this.setStatus('stable');
      }
    }
    await this.scheduleRound();
  }

  private sendRevoke(recipient: string, refs: Uint8Array[]): void {
    if (!this.members.has(recipient)) return;
    this.counters.revokes++;
    this.transport.sendBinary(recipient, DaveOp.MlsProposals, encodeProposalsPayload(1, refs));
  }

  /** Starts a proposal round when membership changed and nothing is in flight. */
  private async scheduleRound(): Promise<void> {
    if (this.round !== undefined || this.transitions.busy || this.statusValue === 'closed' || this.protocolVersionValue === 0) return;
    const inGroup = [...this.members.values()].filter((m) => m.inGroup);
    const joining = [...this.members.values()].filter((m) => !m.inGroup && m.keyPackage !== undefined);
    if (inGroup.length === 0) {
      // No group (or everyone left it): create one once two members have key packages.
      this.pendingRemovals.clear();
      this.leaves.clear();
      this.epochValue = 0n;
      if (joining.length < 2) return this.setStatus('idle');
      const round = new ProposalRound(0n, this.groupId, true);
      this.round = round;
      this.setStatus('proposing');
      for (const r of joining) {
        const others = joining.filter((o) => o !== r);
        await this.sendProposals(round, r.userId, others.map((o) => addItem(o)), others.map((o) => o.userId));
      }
      return;
    }
    const removes: RoundItem[] = [...this.pendingRemovals].map(([userId, leaf]) => ({ kind: 'remove', userId, leaf }));
    const adds = joining.map((m) => addItem(m));
    if (removes.length === 0 && adds.length === 0) return;
    const round = new ProposalRound(this.epochValue, this.groupId, false);
    this.round = round;
    this.setStatus('proposing');
    for (const r of inGroup) await this.sendProposals(round, r.userId, [...removes, ...adds], joining.map((m) => m.userId));
  }

  private async sendProposals(round: ProposalRound, recipient: string, items: RoundItem[], newUsers: string[]): Promise<void> {
    const sent = await round.propose(this.sender, recipient, items);
    if (newUsers.length > 0) this.transport.sendJson(recipient, 11, { user_ids: newUsers });
    this.transport.sendBinary(recipient, DaveOp.MlsProposals, encodeProposalsPayload(0, sent.map((p) => p.message)));
  }

  private async handleCommit(userId: string, payload: Buffer): Promise<void> {
    const round = this.round;
    if (round === undefined) {
      this.counters.commitsLate++;
      return;
    }
    let applied;
    let parsed;
    try {
      parsed = parseCommitWelcome(payload);
      applied = round.validate(userId, parsed);
    } catch (error) {
      if (error instanceof DaveCommitRejectedError || error instanceof DaveProtocolError) {
        this.counters.commitsRejected++;
        return this.reject(userId, error);
      }
      throw error;
    }
    this.counters.commitsAccepted++;
    this.round = undefined;
    // Apply in RFC 9420 order: removes, then adds into the leftmost free leaves (commit order).
    const recipientsBefore = [...round.sent.keys()].filter((u) => this.members.has(u));
    if (round.creation) this.leaves.add(userId);
    const removed: string[] = [];
    for (const p of applied) {
      if (p.item.kind !== 'remove') continue;
      this.leaves.remove(p.item.leaf);
      this.pendingRemovals.delete(p.item.userId);
      removed.push(p.item.userId);
    }
    const added: string[] = [];
    for (const p of applied) {
      if (p.item.kind !== 'add') continue;
      this.leaves.add(p.item.userId);
      added.push(p.item.userId);
    }
    this.epochValue = round.epoch + 1n;
    const transitionId = this.faults.zeroTransitionId ? 0 : this.transitions.nextId();
    const commitTo = round.creation ? [userId] : recipientsBefore.filter((u) => !removed.includes(u));
    for (const u of [...commitTo, ...added]) {
      const m = this.members.get(u);
      if (m !== undefined) m.inGroup = true;
    }
    this.counters.transitions++;
    this.emit('commit', { epoch: this.epochValue, transitionId, committer: userId, added, removed });
    this.setStatus('transitioning');
    this.transitions.begin(transitionId, [...commitTo, ...added]);
    const welcomes = applied.flatMap((p) => (p.item.kind === 'add' ? [{ userId: p.item.userId, keyPackageRef: p.item.keyPackage.ref }] : []));
    deliverAnnounce(this.transport, this.faults, { transitionId, commitTo, commitBytes: parsed.commitBytes, welcome: parsed.welcome, welcomes });
    if (transitionId === 0) this.transitions.finishNow();
  }
}

function addItem(m: Member): RoundItem {
  if (m.keyPackage === undefined) throw new Error(`no key package for ${m.userId}`);
  return { kind: 'add', userId: m.userId, keyPackage: m.keyPackage };
}
