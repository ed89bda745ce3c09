/**
 * The local speech server as a supervised child of `promethean start`: runs the Python server, sends
 * `{ type: 'ready', url }` over IPC once it listens, and exits when it exits (the supervisor restarts
 * it) or when the supervisor goes away. Settings come from the environment the supervisor gives it:
 * PROMETHEAN_SPEECH_PORT (0 = any), PROMETHEAN_SPEECH_THREADS, PROMETHEAN_SPEECH_VENV,
 * PROMETHEAN_MODELS_DIR. It holds no secret.
 */
import { fileURLToPath } from 'node:url';
import { defaultLocalSpeechServerOptions, startLocalSpeechServer } from './local-server.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const env = process.env;

const server = await startLocalSpeechServer({
  projectRoot: ROOT,
  port: Number(env.PROMETHEAN_SPEECH_PORT ?? 0),
  threads: Number(env.PROMETHEAN_SPEECH_THREADS ?? 1),
  venv: env.PROMETHEAN_SPEECH_VENV ?? defaultLocalSpeechServerOptions.venv,
  modelsDir: env.PROMETHEAN_MODELS_DIR ?? defaultLocalSpeechServerOptions.modelsDir,
  log: (line) => console.error(line),
});
console.error(`speech: OpenAI-compatible API at ${server.url}`);
process.send?.({ type: 'ready', url: server.url, port: server.port });
server.process.once('exit', (code, signal) => {
  console.error(`speech: the Python server exited (${signal ?? `code ${code}`})`);
  process.exit(1);
});
const stop = () => {
  void server.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('disconnect', stop);
