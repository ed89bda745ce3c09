/** Typed errors of the stand-in's DAVE part. Bad input from a client never throws past the group. */
import { PrometheanError } from '@promethean/shared';

/** A DAVE message (binary frame, MLS structure, JSON op) that could not be decoded or is not allowed. */
export class DaveProtocolError extends PrometheanError {
  override name = 'DaveProtocolError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('bad_frame', message, options);
  }
}

/** A commit / welcome that does not match the proposals this server sent for the epoch. */
export class DaveCommitRejectedError extends PrometheanError {
  override name = 'DaveCommitRejectedError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('bad_frame', message, options);
  }
}
