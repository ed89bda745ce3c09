/**
 * What every worker's entry (`workers/<name>/main.ts`) does around its own work: read and check its
 * environment, connect to the hub with its own key, tell the supervisor it is ready, and stop in
 * order on a signal. Workers are tokenless: their environments hold the hub URL and the path of
 * their bus key, never a provider credential.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { BusClient } from '@promethean/shared';
import { untilStopped } from '@promethean/shared/node';

/** The environment every worker reads. Extend it with a worker's own settings. */
export const WorkerEnv = z.object({
  PROMETHEAN_HUB_URL: z.string().regex(/^wss?:\/\//, 'must be a ws:// or wss:// URL'),
  PROMETHEAN_AGENT_TOKEN_FILE: z.string().min(1),
  PROMETHEAN_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
});

/** `schema` read from this process's environment; undefined (after one line naming the field) when it does not parse. */
export function readWorkerEnv<S extends z.ZodType>(name: string, schema: S): z.infer<S> | undefined {
  const r = schema.safeParse(process.env);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  console.error(`${name}: ${issue.path.join('.')}: ${issue.message}`);
  return undefined;
}

/** A bus client connected to the hub with the worker's own key. */
export async function connectWorkerBus(env: z.infer<typeof WorkerEnv>): Promise<BusClient> {
  const token = (await readFile(env.PROMETHEAN_AGENT_TOKEN_FILE, 'utf8')).trim();
  const bus = new BusClient({ url: env.PROMETHEAN_HUB_URL, token });
  await bus.connect();
  return bus;
}

/** Reports `ready` to the supervisor, waits for a stop signal, then runs `stops` in order. Resolves to the exit code. */
export async function serveUntilStopped(...stops: (() => unknown)[]): Promise<number> {
  process.send?.({ type: 'ready' });
  await untilStopped();
  for (const stop of stops) await stop();
  return 0;
}
