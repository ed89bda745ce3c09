/** Errors raised by the store. All extend {@link PrometheanError} so they travel as `error` envelopes. */
import { PrometheanError } from '@promethean/shared';

/** A row, key, vector or query argument that does not fit the store's schema. `path` names the field. */
export class StoreInputError extends PrometheanError {
  override name = 'StoreInputError';
  constructor(message: string, options: { path?: string; cause?: unknown } = {}) {
    super('schema', message, options);
  }
}

/** Bad store configuration (`DATABASE_URL`, data directory, batch size). `path` names the field. */
export class StoreConfigError extends PrometheanError {
  override name = 'StoreConfigError';
  constructor(message: string, options: { path?: string; cause?: unknown } = {}) {
    super('bad_config', message, options);
  }
}

/** The database failed (connection lost, constraint the schema could not catch). `cause` holds the driver's error. */
export class StoreError extends PrometheanError {
  override name = 'StoreError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('internal', message, options);
  }
}
