/**
 * The library handles DAVE messages inside its voice WebSocket's message handler, with nothing around
 * them: when its DAVE session throws there (proposals for an epoch the bot's group is not at, after a
 * commit it missed), the error escapes as an uncaught exception and would end the whole bridge, every
 * guild's session with it. This catches exactly those errors (thrown by the library's DAVESession,
 * called from its Networking), counts them and asks every live {@link DaveGuard} to recover (op 31 +
 * re-initialisation, once per cooldown). Any other uncaught error still ends the process as Node
 * would: its stack on stderr, exit code 1.
 */
import type { DaveGuard } from './dave-guard.ts';

const guards = new Set<DaveGuard>();
let installed = false;
/** DAVE errors the library let escape, since the process started. */
export const daveLibraryErrors = { count: 0, last: '' };

/** Whether `error` was thrown by the library's DAVE session while it handled a voice server message. */
export function isDaveLibraryError(error: unknown): boolean {
  const stack = (error as Error | null)?.stack;
  if (typeof stack !== 'string') return false;
  return /\bat DAVESession\.\w+ \(.*@discordjs[\\/]voice[\\/]/.test(stack) && /\bat Networking\.onWs(Binary|Packet) \(/.test(stack);
}

function onUncaught(error: Error): void {
  if (!isDaveLibraryError(error)) {
    process.off('uncaughtException', onUncaught);
    process.stderr.write(`${error?.stack ?? String(error)}\n`);
    process.exit(1);
  }
  daveLibraryErrors.count++;
  daveLibraryErrors.last = error.message;
  for (const g of guards) g.onLibraryError(error);
}

/**
 * Installs the process-wide handler (once). Only the bridge program does this, through its Discord
 * voice gateway; a test process keeps its runner's own handling of uncaught errors.
 */
export function installDaveErrorHandler(): void {
  if (installed) return;
  installed = true;
  process.on('uncaughtException', onUncaught);
}

/** Registers a guard to be told about escaped DAVE errors. Returns its removal. */
export function watchDaveLibraryErrors(guard: DaveGuard): () => void {
  guards.add(guard);
  return () => void guards.delete(guard);
}
