/**
 * What every program's entry does the same way: run `main()` only when the file is the program (not
 * when a test imports it), turn its result into the exit code and an error into one line naming the
 * program, and wait for the signals that stop it — including the supervisor going away.
 */
import { pathToFileURL } from 'node:url';
import { PrometheanError } from '../errors.ts';

/** Runs `main` when `moduleUrl` is the file Node was started with; exits with its code. */
export function runAsProgram(moduleUrl: string, name: string, main: () => Promise<number>): void {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      const e = error instanceof PrometheanError ? `${error.code}: ${error.message}` : String((error as Error)?.stack ?? error);
      console.error(`${name}: ${e}`);
      process.exit(1);
    },
  );
}

/** Resolves on SIGINT, SIGTERM, or the IPC channel to the supervisor closing (it is gone). */
export function untilStopped(): Promise<void> {
  return new Promise<void>((done) => {
    process.once('SIGINT', () => done());
    process.once('SIGTERM', () => done());
    process.once('disconnect', () => done());
  });
}
