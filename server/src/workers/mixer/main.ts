/**
 * Entry of the mixer worker process. Tokenless: its environment holds the hub URL and the path of
 * its bus key, nothing else (the supervisor spawns it). Reports `ready` over IPC once subscribed.
 */
import { agentBusFrom, runAsProgram } from '@promethean/shared/node';
import { connectWorkerBus, readWorkerEnv, serveUntilStopped, WorkerEnv } from '../program.ts';
import { startMixer } from './index.ts';

async function main(): Promise<number> {
  const config = readWorkerEnv('mixer', WorkerEnv);
  if (!config) return 2;
  const bus = await connectWorkerBus(config);
  const mixer = startMixer(agentBusFrom(bus), { logLevel: config.PROMETHEAN_LOG_LEVEL });
  return serveUntilStopped(() => mixer.stop(), () => bus.close());
}

runAsProgram(import.meta.url, 'mixer', main);
