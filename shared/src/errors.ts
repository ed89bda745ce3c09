/**
 * Errors shared by every package. Errors that cross processes travel as `error` envelopes whose
 * payload carries `code` (one of {@link ErrorCode}) and `message`.
 */

/** Every typed error code a process may send back in an `error` envelope. */
export const ERROR_CODES = [
  'malformed_json',
  'bad_frame',
  'schema',
  'bad_topic',
  'topic_mismatch',
  'oversize',
  'forbidden',
  'unauthenticated',
  'bad_config',
  'bad_manifest',
  'bad_flag',
  'invalid_state',
  'unsupported',
  'internal',
  'unavailable',
  'timeout',
  'not_found',
  'rate_limited',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class PrometheanError extends Error {
  override name = 'PrometheanError';
  readonly code: ErrorCode;
  /** Dotted path of the offending field, when one is known (`tenants.0.id`). */
  readonly path: string | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; path?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.path = options.path;
  }
}

/** Raised when an object is used in a state that does not allow the call (for example after close()). */
export class InvalidStateError extends PrometheanError {
  override name = 'InvalidStateError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('invalid_state', message, options);
  }
}

export class UnsupportedError extends PrometheanError {
  override name = 'UnsupportedError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('unsupported', message, options);
  }
}

/** A remote API failure. 4xx are not retryable except 408 and 429. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  readonly retryable: boolean;
  constructor(status: number, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.retryable = status >= 500 || status === 408 || status === 429;
  }
}
