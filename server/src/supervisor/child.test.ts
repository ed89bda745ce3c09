import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidStateError } from '@promethean/shared';
import { PROJECT_ROOT } from '../app.ts';
import { SupervisedChild, type ChildMessage } from './child.ts';

const PROGRAM = join(PROJECT_ROOT, 'server/src/supervisor/testdata/child-program.ts');
const children: SupervisedChild[] = [];

function make(env: Record<string, string> = {}, options: ConstructorParameters<typeof SupervisedChild>[1] = {}) {
  const lines: string[] = [];
  const child = new SupervisedChild(
    { name: 'probe', role: 'worker', script: PROGRAM, args: [], env, cwd: PROJECT_ROOT },
    { backoffInitialMs: 50, backoffMaxMs: 400, stableMs: 60_000, log: (l) => lines.push(l), ...options },
    { PATH: process.env.PATH, HOME: process.env.HOME, PROVIDER_CREDENTIAL: 'must-not-leak', SECRET_THING: 'nor-this' },
  );
  children.push(child);
  return { child, lines };
}

afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop()));
});

describe('SupervisedChild', () => {
  it('spawns the program with its spec environment plus PATH/HOME/NODE_ENV and nothing else of the parent', async () => {
    const { child } = make({ PROMETHEAN_HUB_URL: 'ws://127.0.0.1:1/bus' });
    const ready = await child.start();
    const names = ready.env as string[];
    expect(names).toContain('PROMETHEAN_HUB_URL');
    expect(names).not.toContain('PROVIDER_CREDENTIAL');
    expect(names).not.toContain('SECRET_THING');
    expect(child.health()).toMatchObject({ name: 'probe', status: 'running', restarts: 0, last_exit: null });
  });

  it('restarts a crashed child with doubling backoff and reports the exit in health', async () => {
    const { child, lines } = make();
    const first = await child.start();
    const backoffs: number[] = [];
    child.on('stateChange', (_from, to) => {
      if (to === 'backoff') backoffs.push(child.health().restart_in_ms ?? -1);
    });
    for (let i = 1; i <= 3; i++) {
      const next = child.nextReady();
      child.send({ type: 'crash' });
      const again: ChildMessage = await next;
      expect(again.pid).not.toBe(first.pid);
      expect(child.restarts).toBe(i);
    }
    expect(backoffs).toHaveLength(3);
    // 50, 100, 200 ms (read a moment after the timer was set, so at most that).
    expect(backoffs[0]).toBeLessThanOrEqual(50);
    expect(backoffs[1]).toBeGreaterThan(50);
    expect(backoffs[2]).toBeGreaterThan(100);
    expect(child.health().last_exit).toMatchObject({ code: 3, signal: null });
    expect(lines.some((l) => l.includes('[probe] exited (code 3); restarting in 50 ms'))).toBe(true);
  });

  it('stop() ends the child, never restarts it, and is idempotent; start() twice throws InvalidStateError', async () => {
    const { child } = make();
    await child.start();
    const pid = child.pid!;
    expect(() => child.start()).toThrow(InvalidStateError);
    await Promise.all([child.stop(), child.stop()]);
    expect(child.status).toBe('stopped');
    expect(() => process.kill(pid, 0)).toThrow();
    await child.stop();
    expect(child.restarts).toBe(0);
  });

  it('does not restart when restart is off', async () => {
    const { child } = make({}, { restart: false });
    await child.start();
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.send({ type: 'crash' });
    await exited;
    expect(child.status).toBe('stopped');
    expect(child.health().last_exit?.code).toBe(3);
  });
});
