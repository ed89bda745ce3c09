/**
 * Delivery of an accepted commit: op 29 (transition id + commit) to the members that were already in
 * the group, op 30 (transition id + Welcome cut to the recipient) to each added member. The drop and
 * corrupt fault switches act here.
 */
import type { Welcome } from 'ts-mls';
import { corrupt, takeFault, type DaveFaults } from './faults.ts';
import type { DaveGroupTransport } from './groupTypes.ts';
import { welcomeFor } from './mls.ts';
import { DaveOp, withTransitionId } from './opcodes.ts';

export interface Announcement {
  transitionId: number;
  /** Users who get op 29. */
  commitTo: string[];
  commitBytes: Buffer;
  welcome: Welcome | undefined;
  /** Users who get op 30, with the KeyPackageRef their Welcome secrets are filed under. */
  welcomes: { userId: string; keyPackageRef: Uint8Array }[];
}

export function deliverAnnounce(transport: DaveGroupTransport, faults: DaveFaults, a: Announcement): void {
  for (const u of a.commitTo) {
    if (takeFault(faults, 'dropCommitFor', u)) continue;
    let body = a.commitBytes;
    if (takeFault(faults, 'corruptCommitFor', u)) body = corrupt(body);
    transport.sendBinary(u, DaveOp.MlsAnnounceCommitTransition, withTransitionId(a.transitionId, body));
  }
  if (a.welcome === undefined) return;
  for (const w of a.welcomes) {
    let body = welcomeFor(a.welcome, w.keyPackageRef);
    if (body === undefined) continue;
    if (takeFault(faults, 'dropWelcomeFor', w.userId)) continue;
    if (takeFault(faults, 'corruptWelcomeFor', w.userId)) body = corrupt(body);
    transport.sendBinary(w.userId, DaveOp.MlsWelcome, withTransitionId(a.transitionId, body));
  }
}
