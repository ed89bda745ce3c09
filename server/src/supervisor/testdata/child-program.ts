/**
 * A tiny program for the supervisor's tests: reports `ready` with its environment's names, then
 * waits; `{ type: 'crash' }` over IPC makes it exit with code 3, `{ type: 'env' }` answers with its
 * environment.
 */
process.send?.({ type: 'ready', env: Object.keys(process.env).sort(), pid: process.pid });
process.on('message', (m: { type?: string; id?: unknown }) => {
  if (m.type === 'crash') process.exit(3);
  if (m.type === 'env') process.send?.({ type: 'env', id: m.id, env: { ...process.env } });
});
process.once('SIGTERM', () => process.exit(0));
process.once('disconnect', () => process.exit(0));
