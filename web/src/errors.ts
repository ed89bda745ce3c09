/** Errors of the console. HTTP failures become {@link ApiError}; `retryable` follows the house rule. */

export class ConsoleError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConsoleError';
    this.code = code;
  }
}

/** Using an object after `close()` (or in a state that forbids the call). */
export class InvalidStateError extends ConsoleError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_state', message, options);
    this.name = 'InvalidStateError';
  }
}

/** Something this browser or this console cannot do (no WebRTC handler, an offer of an unknown kind). */
export class UnsupportedError extends ConsoleError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('unsupported', message, options);
    this.name = 'UnsupportedError';
  }
}

/** An HTTP call that failed: `status` 0 means the request never got an answer (network, abort). */
export class ApiError extends ConsoleError {
  readonly status: number;
  readonly retryable: boolean;
  constructor(status: number, code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ApiError';
    this.status = status;
    this.retryable = isRetryableStatus(status);
  }
}

/** 4xx are final except 408 and 429; no answer (0) and 5xx are worth another try. */
export function isRetryableStatus(status: number): boolean {
  return status === 0 || status === 408 || status === 429 || status >= 500;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
