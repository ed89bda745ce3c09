/**
 * Fault switches of the stand-in's DAVE group. One-shot switches clear themselves when used (per user:
 * a list of users clears each one as it is hit); the scenario-level faults (member joins/leaves
 * mid-sentence, the same user reconnecting with a new ssrc: `speakers.leave(name)` then
 * `speakers.join()` with the same name keeps the user id and draws a new ssrc) are driven by calling
 * join()/leave() at the chosen moment; a protocol transition by the group's downgrade() / restart(1).
 */

/** One user, or several (each cleared when its one shot is used). */
export type FaultTargets = string | readonly string[] | undefined;

export interface DaveFaults {
  /** Do not deliver the next op 29 announce to this user (one-shot). */
  dropCommitFor: FaultTargets;
  /** Flip a byte in the next op 29 commit sent to this user (one-shot). */
  corruptCommitFor: FaultTargets;
  /** Flip a byte in the next op 30 welcome sent to this user (one-shot). */
  corruptWelcomeFor: FaultTargets;
  /** Do not deliver the next op 30 welcome to this user (one-shot). */
  dropWelcomeFor: FaultTargets;
  /** Extra delay before op 22 execute, after every recipient said ready (ms). */
  executeDelayMs: number;
  /** Announce commits with transition id 0 (clients apply them at once, no op 23/22). */
  zeroTransitionId: boolean;
  /**
   * The next `frames` audio frames of this simulated speaker go out without end-to-end encryption,
   * as a client does whose keys have not arrived yet (passthrough); counts down to 0.
   */
  plainFramesFrom: { userId: string; frames: number } | undefined;
}

export const defaultDaveFaults: DaveFaults = {
  dropCommitFor: undefined,
  corruptCommitFor: undefined,
  corruptWelcomeFor: undefined,
  dropWelcomeFor: undefined,
  executeDelayMs: 0,
  zeroTransitionId: false,
  plainFramesFrom: undefined,
};

type OneShot = 'dropCommitFor' | 'corruptCommitFor' | 'corruptWelcomeFor' | 'dropWelcomeFor';

/** Whether the one-shot `fault` targets `userId`; if so it is used up for that user. */
export function takeFault(faults: DaveFaults, fault: OneShot, userId: string): boolean {
  const t = faults[fault];
  if (t === undefined) return false;
  if (typeof t === 'string') {
    if (t !== userId) return false;
    faults[fault] = undefined;
    return true;
  }
  if (!t.includes(userId)) return false;
  const rest = t.filter((u) => u !== userId);
  faults[fault] = rest.length > 0 ? rest : undefined;
  return true;
}

/** A copy of `bytes` with one byte inside the signed content flipped. */
export function corrupt(bytes: Uint8Array): Buffer {
  const out = Buffer.from(bytes);
  const at = Math.min(out.length - 1, Math.floor(out.length / 2));
  out[at] = (out[at] ?? 0) ^ 0x5a;
  return out;
}
