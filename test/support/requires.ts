/**
 * Test prerequisites. Locally a suite whose dependency is missing is skipped with a printed reason;
 * under CI=true the same absence throws, so nothing skips silently in CI.
 */
import { execFileSync } from 'node:child_process';

export const IN_CI = process.env.CI === 'true';

/** True when `name` is an executable on the PATH (or an absolute path that runs). */
export function hasBinary(name: string, versionArgs: string[] = ['--version']): boolean {
  try {
    execFileSync(name, versionArgs, { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Declares that a suite needs something. Returns whether it is there; when it is not, throws under
 * CI=true and prints why it will be skipped otherwise. Use with `describe.skipIf(!requires(...))`.
 */
export function requires(what: string, available: boolean, howToInstall: string): boolean {
  if (available) return true;
  const message = `missing test dependency: ${what} (${howToInstall})`;
  if (IN_CI) throw new Error(`${message}; CI=true does not skip`);
  console.warn(`SKIPPING: ${message}`);
  return false;
}
