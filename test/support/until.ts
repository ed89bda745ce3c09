/**
 * Awaiting a condition in tests, on vitest's `vi.waitFor` (it polls the callback until it stops
 * throwing or the time is up): one place instead of a polling loop in every test file. The error on
 * timeout names what was awaited.
 */
import { vi } from 'vitest';

/** Resolves once `ok()` holds; rejects after `timeoutMs` naming `what`. */
export async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 60_000, intervalMs = 10): Promise<void> {
  await vi.waitFor(
    async () => {
      if (!(await ok())) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    },
    { timeout: timeoutMs, interval: intervalMs },
  );
}

/** Resolves with the first truthy value `probe()` returns; rejects after `timeoutMs` naming `what`. */
export async function eventually<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 60_000, intervalMs = 10): Promise<NonNullable<T>> {
  return vi.waitFor(
    async () => {
      const value = await probe();
      if (!value) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      return value as NonNullable<T>;
    },
    { timeout: timeoutMs, interval: intervalMs },
  );
}
