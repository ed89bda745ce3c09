/** Typed errors of the DSP kernels. */
import { PrometheanError } from '../errors.ts';

/**
 * A kernel option out of range (`n_fft` of 0, `fmax` above Nyquist, …). `path` names the option.
 * Code `bad_config`: options come from configuration, flags or a settings envelope, never from audio.
 */
export class DspOptionsError extends PrometheanError {
  override name = 'DspOptionsError';
  constructor(option: string, message: string) {
    super('bad_config', `${option}: ${message}`, { path: option });
  }
}

/** Checks `value` is an integer in [min, max]; throws {@link DspOptionsError} naming `option` otherwise. */
export function checkInt(option: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new DspOptionsError(option, `must be an integer from ${min} to ${max}, got ${value}`);
  return value;
}

/** Checks `value` is a finite number in [min, max]. */
export function checkNumber(option: string, value: number, min: number, max: number): number {
  if (!Number.isFinite(value) || value < min || value > max) throw new DspOptionsError(option, `must be a number from ${min} to ${max}, got ${value}`);
  return value;
}
