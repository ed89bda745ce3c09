/** Options, events, counters and transport of a DaveGroup. */
import type { DaveFaults } from './faults.ts';
import { defaultDaveFaults } from './faults.ts';
import type { ParsedKeyPackage } from './mls.ts';

/** How the group reaches one member's voice WebSocket (the stand-in adds seq and framing). */
export interface DaveGroupTransport {
  sendJson(userId: string, op: number, d: Record<string, unknown>): void;
  sendBinary(userId: string, op: number, payload: Buffer): void;
}

export interface DaveGroupOptions {
  /** Voice channel id; its 8 bytes BE are the MLS group id. */
  channelId: string;
  /** Wait at most this long for op 23 from every recipient before sending op 22 anyway (ms). */
  readyTimeoutMs: number;
  /** Fault switches (mutable at run time through `group.faults`). */
  faults: DaveFaults;
}

export const defaultDaveGroupOptions: Omit<DaveGroupOptions, 'channelId'> = {
  readyTimeoutMs: 3000,
  faults: defaultDaveFaults,
};

export type DaveGroupStatus = 'idle' | 'proposing' | 'transitioning' | 'stable' | 'closed';

export interface Member {
  userId: string;
  keyPackage: ParsedKeyPackage | undefined;
  keyPackages: number;
  inGroup: boolean;
}

export interface DaveGroupCounters {
  keyPackages: number;
  badKeyPackages: number;
  commitsAccepted: number;
  commitsRejected: number;
  commitsLate: number;
  invalidReports: number;
  revokes: number;
  transitions: number;
}

export interface DaveGroupEvents {
  stateChange: [from: DaveGroupStatus, to: DaveGroupStatus];
  /** A commit was accepted: the group moves to `epoch` under `transitionId`. */
  commit: [info: { epoch: bigint; transitionId: number; committer: string; added: string[]; removed: string[] }];
  /** op 22 went out for `transitionId`. */
  executed: [transitionId: number, late: string[]];
  rejected: [userId: string, error: Error];
  debug: [message: string];
}
