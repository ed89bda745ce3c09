/**
 * One proposal round: the external proposals sent for one epoch (to each recipient) and the check a
 * returned commit must pass — same group and epoch, sent by a recipient, citing by reference exactly
 * the proposals that recipient was sent, with a Welcome secret for every added key package.
 */
import type { Proposal } from 'ts-mls';
import { DaveCommitRejectedError } from './errors.ts';
import type { ExternalSenderKey } from './externalSender.ts';
import type { ParsedCommitWelcome, ParsedKeyPackage } from './mls.ts';
import { hex, signExternalProposal } from './mls.ts';

export type RoundItem = { kind: 'add'; userId: string; keyPackage: ParsedKeyPackage } | { kind: 'remove'; userId: string; leaf: number };

export interface SentProposal {
  item: RoundItem;
  message: Buffer;
  ref: Uint8Array;
}

export class ProposalRound {
  /** recipient → (ref hex → proposal) */
  readonly sent = new Map<string, Map<string, SentProposal>>();
  /** Proposals revoked since they were sent (ref hex). */
  readonly revoked = new Set<string>();

  readonly epoch: bigint;
  readonly groupId: Uint8Array;
  /** True when this round creates the group (epoch 0, every pending member a recipient). */
  readonly creation: boolean;

  constructor(epoch: bigint, groupId: Uint8Array, creation: boolean) {
    this.epoch = epoch;
    this.groupId = groupId;
    this.creation = creation;
  }

  /** Signs `items` for `recipient` and records them. */
  async propose(sender: ExternalSenderKey, recipient: string, items: readonly RoundItem[]): Promise<SentProposal[]> {
    const mine = this.sent.get(recipient) ?? new Map<string, SentProposal>();
    this.sent.set(recipient, mine);
    const out: SentProposal[] = [];
    for (const item of items) {
      const proposal: Proposal =
        item.kind === 'add'
          ? { proposalType: 'add', add: { keyPackage: item.keyPackage.keyPackage } }
          : { proposalType: 'remove', remove: { removed: item.leaf } };
      const signed = await signExternalProposal(sender, this.groupId, this.epoch, proposal);
      const sp = { item, ...signed };
      mine.set(hex(signed.ref), sp);
      out.push(sp);
    }
    return out;
  }

  /** Live (not revoked) proposals sent to `recipient`. */
  liveFor(recipient: string): SentProposal[] {
    return [...(this.sent.get(recipient)?.values() ?? [])].filter((p) => !this.revoked.has(hex(p.ref)));
  }

  /** Revokes every live Add for `userId`; returns recipient → refs to send in an op 27 revoke. */
  revokeAddsFor(userId: string): Map<string, Uint8Array[]> {
    const out = new Map<string, Uint8Array[]>();
    for (const [recipient, proposals] of this.sent) {
      for (const p of proposals.values()) {
        if (p.item.kind !== 'add' || p.item.userId !== userId || this.revoked.has(hex(p.ref))) continue;
        this.revoked.add(hex(p.ref));
        out.set(recipient, [...(out.get(recipient) ?? []), p.ref]);
      }
    }
    return out;
  }

  /** True when nobody has anything live left to commit. */
  get empty(): boolean {
    return [...this.sent.keys()].every((r) => this.liveFor(r).length === 0);
  }

  /**
   * Checks a commit from `committer` and returns the proposals it applies, in commit order.
   * Throws DaveCommitRejectedError when it does not match what this server sent.
   */
  validate(committer: string, parsed: ParsedCommitWelcome): SentProposal[] {
    const live = this.liveFor(committer);
    if (!this.sent.has(committer)) throw new DaveCommitRejectedError(`${committer} was sent no proposals this round`);
    if (hex(parsed.groupId) !== hex(this.groupId)) throw new DaveCommitRejectedError('commit for another group');
    if (parsed.epoch !== this.epoch) throw new DaveCommitRejectedError(`commit for epoch ${parsed.epoch}, round is ${this.epoch}`);
    const byRef = new Map(live.map((p) => [hex(p.ref), p]));
    const applied: SentProposal[] = [];
    for (const p of parsed.commit.proposals) {
      if (p.proposalOrRefType !== 'reference') throw new DaveCommitRejectedError('commit carries an inline proposal');
      const sp = byRef.get(hex(p.reference));
      if (sp === undefined) throw new DaveCommitRejectedError(`commit cites unknown proposal ${hex(p.reference).slice(0, 16)}`);
      byRef.delete(hex(p.reference));
      applied.push(sp);
    }
    if (byRef.size > 0) throw new DaveCommitRejectedError(`commit leaves ${byRef.size} proposal(s) out`);
    const adds = applied.filter((p) => p.item.kind === 'add');
    if (adds.length > 0 && parsed.welcome === undefined) throw new DaveCommitRejectedError('commit adds members but has no welcome');
    for (const a of adds) {
      if (a.item.kind !== 'add') continue;
      const ref = hex(a.item.keyPackage.ref);
      if (!parsed.welcome?.secrets.some((s) => hex(s.newMember) === ref))
        throw new DaveCommitRejectedError(`welcome has no secrets for ${a.item.userId}`);
    }
    return applied;
  }
}
