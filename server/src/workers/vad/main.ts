/**
 * Entry of the VAD worker process. Tokenless: its environment holds the hub URL and the path of its
 * bus key, nothing else (the supervisor spawns it). Reports `ready` over IPC once subscribed.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { BusClient } from '@promethean/shared';
import { agentBusFrom, runAsProgram, untilStopped } from '@promethean/shared/node';
import { startVad } from './index.ts';

const WorkerEnv = z.object({
  PROMETHEAN_HUB_URL: z.string().regex(/^wss?:\/\//, 'must be a ws:// or wss:// URL'),
  PROMETHEAN_AGENT_TOKEN_FILE: z.string().min(1),
  PROMETHEAN_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
});

async function main(): Promise<number> {
  const r = WorkerEnv.safeParse(process.env);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    console.error(`vad: ${issue.path.join('.')}: ${issue.message}`);
    return 2;
  }
  const config = r.data;
  const token = (await readFile(config.PROMETHEAN_AGENT_TOKEN_FILE, 'utf8')).trim();
  const bus = new BusClient({ url: config.PROMETHEAN_HUB_URL, token });
  await bus.connect();
  const vad = await startVad(agentBusFrom(bus), { logLevel: config.PROMETHEAN_LOG_LEVEL });
  process.send?.({ type: 'ready' });
  await untilStopped();
  await vad.stop();
  bus.close();
  return 0;
}

runAsProgram(import.meta.url, 'vad', main);
