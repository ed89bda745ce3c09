/** Typed errors of the stand-in. */
import { PrometheanError } from '@promethean/shared';

/** A bad option, flag or input file given to the stand-in. */
export class StandinConfigError extends PrometheanError {
  override name = 'StandinConfigError';
  constructor(message: string, options: { cause?: unknown; path?: string } = {}) {
    super('bad_config', message, options);
  }
}

/** A WAV file the stand-in cannot read. */
export class WavFormatError extends PrometheanError {
  override name = 'WavFormatError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('unsupported', message, options);
  }
}
