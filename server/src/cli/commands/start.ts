/** `promethean start`: the hub and every agent present, on embedded defaults; prints a login link. */
import { resolve } from 'node:path';
import { startApp } from '../../app.ts';
import { numberFlag, parseFlags, type Command } from '../args.ts';

export const startCommand: Command = {
  name: 'start',
  summary: 'start the hub, storage and every agent on embedded defaults; prints a login link',
  usage: `Usage: promethean start [--port N] [--host ADDR] [--data-dir DIR] [--providers FILE] [--speaker NAME=FILE.wav ...] [--dave]

Starts storage (PGlite under the data directory, or PostgreSQL when DATABASE_URL is set), the bus hub,
the workers and the access agents. With no Discord credentials configured (see providers.yml) it runs
the built-in Discord stand-in with simulated speakers. Prints a login link on every start.

Options:
  --port <n>               hub HTTP/WebSocket port (default 8787; 0 = any free port)
  --host <addr>            listen address (default 127.0.0.1)
  --data-dir <dir>         data directory (default .data in the project)
  --providers <file>       providers.yml to use
  --speaker NAME=FILE.wav  a simulated speaker for the built-in stand-in; repeatable
  --dave                   the built-in stand-in negotiates DAVE end-to-end encryption
  -h, --help               this text`,
  async run(argv) {
    const { values } = parseFlags(argv, {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      providers: { type: 'string' },
      speaker: { type: 'string', multiple: true },
      dave: { type: 'boolean' },
    });
    const port = numberFlag('port', values.port, 0, 65535);
    const app = await startApp({
      env: process.env,
      ...(port !== undefined ? { port } : {}),
      ...(values.host ? { host: values.host } : {}),
      ...(values['data-dir'] ? { dataDir: resolve(values['data-dir']) } : {}),
      ...(values.providers ? { providersFile: resolve(values.providers) } : {}),
      standinSpeakers: values.speaker ?? [],
      standinDave: values.dave === true,
    });
    console.log(`\nPromethean Voice Bridge is running.\n  login: ${app.loginLink()}\n  hub:   ${app.hub.url}\nPress Ctrl-C to stop.\n`);
    await new Promise<void>((done) => {
      process.once('SIGINT', () => done());
      process.once('SIGTERM', () => done());
    });
    console.error('stopping…');
    await app.close();
    return 0;
  },
};
