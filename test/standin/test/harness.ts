/** Test harness: spawns discordjs-probe.ts with NODE_EXTRA_CA_CERTS and reads its JSON lines. */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Standin } from '../src/standin.ts';

export const PROBE = fileURLToPath(new URL('./discordjs-probe.ts', import.meta.url));

export interface Probe {
  child: ChildProcessWithoutNullStreams;
  events: Record<string, unknown>[];
  /** Resolves with the first event matching `pred` (rejects on exit or timeout). */
  waitFor(pred: (e: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stderr: () => string;
  kill(): void;
}

/**
 * Starts the probe. The certificate must be trusted from process start, hence a child process with
 * NODE_EXTRA_CA_CERTS (setting it inside a running test process has no effect).
 */
export function startProbe(standin: Standin, env: Record<string, string>): Probe {
  const child = spawn(process.execPath, [PROBE], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: standin.certPath, STANDIN_API: standin.restApi, STANDIN_GUILD: standin.guildId, STANDIN_CHANNEL: standin.voiceChannelId, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const events: Record<string, unknown>[] = [];
  const waiters = new Set<{ pred: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }>();
  let err = '';
  child.stderr.on('data', (d) => (err += d.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    events.push(e);
    for (const w of [...waiters]) if (w.pred(e)) {
      waiters.delete(w);
      w.resolve(e);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    events,
    stderr: () => err,
    waitFor(pred, timeoutMs = 30_000) {
      const seen = events.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve };
        waiters.add(w);
        const timer = setTimeout(() => reject(new Error(`probe: no matching event in ${timeoutMs} ms; events ${JSON.stringify(events)}; stderr ${err.slice(-2000)}`)), timeoutMs);
        void exited.then((code) => {
          if (!waiters.has(w)) return;
          clearTimeout(timer);
          reject(new Error(`probe exited with ${code}; events ${JSON.stringify(events)}; stderr ${err.slice(-2000)}`));
        });
      });
    },
    kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
