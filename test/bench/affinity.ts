/**
 * CPU affinity for the bench suites that pin processes (`taskset`). A suite that pins this process
 * restores the mask it found, so the suites after it (and the browsers and servers they spawn,
 * which inherit it) are not left on one core.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/** `taskset` exists and there are at least two cores. */
export const canPin = availableParallelism() >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;

/** The hexadecimal affinity mask of `pid` (as `taskset -p` prints it), or undefined without taskset. */
export function affinityMask(pid: number): string | undefined {
  try {
    const out = execFileSync('taskset', ['-p', String(pid)], { encoding: 'utf8' });
    return /:\s*([0-9a-f]+)\s*$/i.exec(out.trim())?.[1];
  } catch {
    return undefined;
  }
}

/** Pins every thread of `pid` to the CPU list `cpus` (`"0"`, `"1"`, `"0-1"`). Returns false when it could not. */
export function pin(pid: number, cpus: string): boolean {
  return spawnSync('taskset', ['-a', '-cp', cpus, String(pid)], { stdio: 'ignore' }).status === 0;
}

/** Sets every thread of `pid` to the hexadecimal `mask`. */
export function setMask(pid: number, mask: string): boolean {
  return spawnSync('taskset', ['-a', '-p', mask, String(pid)], { stdio: 'ignore' }).status === 0;
}

/** Every CPU of the machine as a taskset list. */
export function allCpus(): string {
  return `0-${availableParallelism() - 1}`;
}

/**
 * Runs `body` with this process' affinity set to `cpus` (every thread), then puts back the mask it
 * had. Without taskset the body just runs.
 */
export async function withAffinity<T>(cpus: string, body: () => Promise<T>): Promise<T> {
  const before = affinityMask(process.pid);
  if (before !== undefined) pin(process.pid, cpus);
  try {
    return await body();
  } finally {
    if (before !== undefined) setMask(process.pid, before);
  }
}

/** Pins one thread (`tid`) to the CPU list `cpus`, leaving the other threads of its process alone. */
export function pinThread(tid: number, cpus: string): boolean {
  return spawnSync('taskset', ['-cp', cpus, String(tid)], { stdio: 'ignore' }).status === 0;
}
