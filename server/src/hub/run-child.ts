/**
 * Runs a hub as its own process (fuzz test, benchmarks): `node run-child.ts '<HubOptions JSON>'`.
 * Prints one JSON line `{ url, httpUrl, keyFile, pid }` once listening; exits when stdin closes or
 * on SIGTERM/SIGINT, closing the hub first. Started with `--expose-gc`, SIGUSR2 runs a full GC.
 */
import { createHub } from './hub.ts';
import type { HubOptions } from './options.ts';

const options = JSON.parse(process.argv[2] ?? '{}') as Partial<HubOptions>;
const hub = await createHub(options);
process.stdout.write(`${JSON.stringify({ url: hub.url, httpUrl: hub.httpUrl, keyFile: hub.agentKeyFile, pid: process.pid })}\n`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await hub.close();
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.stdin.on('end', () => void stop());
process.stdin.on('close', () => void stop());
process.stdin.resume();
// Under `node --expose-gc`, SIGUSR2 runs a full collection (memory checks in tests measure after it).
const gc = (globalThis as { gc?: () => void }).gc;
if (gc) process.on('SIGUSR2', () => gc());
