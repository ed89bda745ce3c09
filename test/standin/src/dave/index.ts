/** DAVE (end-to-end encryption) for the stand-in's voice server. */
import { DaveExtension, type DaveExtensionOptions } from './DaveExtension.ts';

/** The `--dave` extension: negotiates DAVE v1 with clients that offer it. */
export function createDaveExtension(options: DaveExtensionOptions = {}): DaveExtension {
  return new DaveExtension({ enabled: true, ...options });
}

export { DaveExtension } from './DaveExtension.ts';
export type { DaveExtensionOptions, DaveExtensionEvents } from './DaveExtension.ts';
export { DaveServer, defaultDaveServerOptions } from './DaveServer.ts';
export type { DaveServerOptions, DaveMemberLink } from './DaveServer.ts';
export { DaveGroup } from './DaveGroup.ts';
export type { DaveGroupOptions, DaveGroupEvents, DaveGroupCounters, DaveGroupStatus } from './DaveGroup.ts';
export { DaveParticipant } from './DaveParticipant.ts';
export { defaultDaveFaults } from './faults.ts';
export type { DaveFaults } from './faults.ts';
export { DaveOp, OPUS_SILENCE } from './opcodes.ts';
export { DaveProtocolError, DaveCommitRejectedError } from './errors.ts';
