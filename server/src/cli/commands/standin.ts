/**
 * `promethean standin`: the local Discord stand-in on its own. The stand-in is its own program
 * (`test/standin/src/main.ts`); this command runs it with the given flags, relays its output and
 * passes Ctrl-C on. No runtime package imports the stand-in.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../app.ts';
import type { Command } from '../args.ts';

export const STANDIN_PROGRAM = join(PROJECT_ROOT, 'test/standin/src/main.ts');

export const standinCommand: Command = {
  name: 'standin',
  summary: 'run the protocol-accurate local Discord with simulated speakers',
  usage: '',
  passHelp: true,
  run(argv) {
    return new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', STANDIN_PROGRAM, ...argv], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      const relay = (write: (line: string) => void) => (chunk: Buffer) => {
        for (const line of chunk.toString().replace(/\n$/, '').split('\n')) write(line);
      };
      child.stdout.on('data', relay((l) => console.log(l)));
      child.stderr.on('data', relay((l) => console.error(l)));
      const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
      const onInt = forward('SIGINT');
      const onTerm = forward('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
      child.on('close', (code, signal) => {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
        resolve(code ?? (signal ? 1 : 0));
      });
    });
  },
};
