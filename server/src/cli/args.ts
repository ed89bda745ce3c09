/** Flag parsing for every subcommand: strict (unknown flags are errors), typed, with one clear message. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { PrometheanError } from '@promethean/shared';

export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

export interface Command {
  name: string;
  summary: string;
  /** Full `--help` text. */
  usage: string;
  /** `--help` goes to `run()` (a command that runs another program, which prints its own usage). */
  passHelp?: boolean;
  run(argv: string[]): Promise<number>;
}

/** Parses argv against `options`; unknown or malformed flags throw PrometheanError('bad_flag'). */
export function parseFlags<O extends FlagSpec>(argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals });
  } catch (cause) {
    const msg = (cause as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new PrometheanError('bad_flag', msg, { cause });
  }
}

/** Parses a numeric flag value, naming the flag when it is not a number in range. */
export function numberFlag(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new PrometheanError('bad_flag', `--${name} must be a number from ${min} to ${max}, got "${value}"`);
  }
  return n;
}
