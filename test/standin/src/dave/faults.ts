/**
 * Fault switches of the stand-in's DAVE group. One-shot switches clear themselves when used; the
 * scenario-level faults (member joins/leaves mid-sentence, same user reconnecting with a new ssrc) are
 * driven by calling the group's join()/leave() at the chosen moment.
 */
export interface DaveFaults {
  /** Do not deliver the next op 29 announce to this user (one-shot). */
  dropCommitFor: string | undefined;
  /** Flip a byte in the next op 29 commit sent to this user (one-shot). */
  corruptCommitFor: string | undefined;
  /** Flip a byte in the next op 30 welcome sent to this user (one-shot). */
  corruptWelcomeFor: string | undefined;
  /** Extra delay before op 22 execute, after every recipient said ready (ms). */
  executeDelayMs: number;
  /** Announce commits with transition id 0 (clients apply them at once, no op 23/22). */
  zeroTransitionId: boolean;
}

export const defaultDaveFaults: DaveFaults = {
  dropCommitFor: undefined,
  corruptCommitFor: undefined,
  corruptWelcomeFor: undefined,
  executeDelayMs: 0,
  zeroTransitionId: false,
};

/** A copy of `bytes` with one byte inside the signed content flipped. */
export function corrupt(bytes: Uint8Array): Buffer {
  const out = Buffer.from(bytes);
  const at = Math.min(out.length - 1, Math.floor(out.length / 2));
  out[at] = (out[at] ?? 0) ^ 0x5a;
  return out;
}
