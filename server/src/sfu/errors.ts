/**
 * Errors raised by the SFU. All extend {@link PrometheanError}; the werift driver's media process sends
 * them back as {@link WireError} and the caller's process rebuilds the same class.
 */
import { InvalidStateError, PrometheanError, type ErrorCode } from '@promethean/shared';

export { InvalidStateError };

/** A bad option (`path` names it). */
export class SfuOptionsError extends PrometheanError {
  override name = 'SfuOptionsError';
  constructor(message: string, path: string, options: { cause?: unknown } = {}) {
    super('bad_config', `${path}: ${message}`, { ...options, path });
  }
}

/** The media engine failed (werift threw, a socket could not bind, an SDP answer was refused). */
export class SfuError extends PrometheanError {
  override name = 'SfuError';
  constructor(message: string, options: { cause?: unknown; code?: ErrorCode } = {}) {
    super(options.code ?? 'internal', message, options);
  }
}

// The classes below only rename a shared shape: the ids and ssrcs are states (`invalid_state`,
// as the shared InvalidStateError), the media process's failures are SFU failures (`internal`).

/** Another producer of the same Sfu already receives RTP with this ssrc. */
export class SsrcInUseError extends InvalidStateError {
  override name = 'SsrcInUseError';
}

/** A router, producer or listener with this id is already open. */
export class IdInUseError extends InvalidStateError {
  override name = 'IdInUseError';
}

/** The media process died (or could not start); what was pending on it is rejected with this. */
export class SfuDiedError extends SfuError {
  override name = 'SfuDiedError';
}

/** The media process did not answer a request in time. */
export class SfuTimeoutError extends SfuError {
  override name = 'SfuTimeoutError';
}

/** An error as it crosses the process boundary. */
export interface WireError {
  name: string;
  code: ErrorCode;
  message: string;
  path?: string | undefined;
}

export function toWireError(error: unknown): WireError {
  if (error instanceof PrometheanError) return { name: error.name, code: error.code, message: error.message, path: error.path };
  if (error instanceof Error) return { name: 'SfuError', code: 'internal', message: `${error.name}: ${error.message}` };
  return { name: 'SfuError', code: 'internal', message: String(error) };
}

export function fromWireError(wire: WireError): PrometheanError {
  switch (wire.name) {
    case 'InvalidStateError':
      return new InvalidStateError(wire.message);
    case 'SsrcInUseError':
      return new SsrcInUseError(wire.message);
    case 'IdInUseError':
      return new IdInUseError(wire.message);
    case 'SfuOptionsError': {
      const e = new SfuOptionsError(wire.message, wire.path ?? '');
      e.message = wire.message;
      return e;
    }
    default:
      return new SfuError(wire.message, { code: wire.code });
  }
}
