/** `promethean login`: a fresh one-time owner login link from the running server. */
import { join, resolve } from 'node:path';
import { PrometheanError } from '@promethean/shared';
import { PROJECT_ROOT } from '../../app.ts';
import { parseFlags, type Command } from '../args.ts';
import { locateHub } from '../hub-connection.ts';

export const loginCommand: Command = {
  name: 'login',
  summary: 'print a fresh one-time login link for the running server',
  usage: `Usage: promethean login [--data-dir DIR] [--hub URL --token-file FILE]

Asks the running server (found through <data dir>/runtime.json, readable only by its owner) for a new
one-time owner login link, valid for 10 minutes, and prints it. Open it in a browser to sign in.

Options:
  --data-dir <dir>     data directory of the running server (default .data in the project)
  --hub <url>          the hub's ws:// URL, instead of the runtime file
  --token-file <file>  the agent key file, with --hub
  -h, --help           this text`,
  async run(argv) {
    const { values } = parseFlags(argv, { 'data-dir': { type: 'string' }, hub: { type: 'string' }, 'token-file': { type: 'string' } });
    const location = await locateHub({
      dataDir: values['data-dir'] ? resolve(values['data-dir']) : join(PROJECT_ROOT, '.data'),
      ...(values.hub ? { hub: values.hub } : {}),
      ...(values['token-file'] ? { tokenFile: resolve(values['token-file']) } : {}),
    }).catch((cause: unknown) => {
      throw new PrometheanError('unavailable', `no running server found (${(cause as Error).message}); start one with \`npm start\``, { cause });
    });
    const http = location.url.replace(/^ws/, 'http').replace(/\/bus$/, '');
    const res = await fetch(`${http}/api/login-link`, { method: 'POST', headers: { authorization: `Bearer ${location.token}` } }).catch((cause: unknown) => {
      throw new PrometheanError('unavailable', `the server at ${http} does not answer (${(cause as Error).message}); is it running?`, { cause });
    });
    const body = (await res.json().catch(() => ({}))) as { link?: string; error?: { message?: string } };
    if (!res.ok || !body.link) throw new PrometheanError('internal', `the server refused: ${body.error?.message ?? res.statusText}`);
    console.log(body.link);
    return 0;
  },
};
