/** `promethean <command>`: dispatch, `--help` everywhere, and one clear error (exit 2) for bad flags. */
import { PrometheanError } from '@promethean/shared';
import type { Command } from './args.ts';
import { auditCommand } from './commands/audit.ts';
import { backfillCommand } from './commands/backfill.ts';
import { benchCommand } from './commands/bench.ts';
import { dspCommand } from './commands/dsp.ts';
import { loginCommand } from './commands/login.ts';
import { modelsCommand } from './commands/models.ts';
import { inviteCommand } from './commands/invite.ts';
import { speechCommand } from './commands/speech.ts';
import { standinCommand } from './commands/standin.ts';
import { startCommand } from './commands/start.ts';
import { tapCommand } from './commands/tap.ts';
import { transcriptsCommand } from './commands/transcripts.ts';

export const COMMANDS: readonly Command[] = [startCommand, loginCommand, inviteCommand, auditCommand, standinCommand, tapCommand, backfillCommand, benchCommand, modelsCommand, dspCommand, speechCommand, transcriptsCommand];

export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: promethean <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `promethean <command> --help` for a command\'s options.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    console.error(`promethean: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  if ((rest.includes('--help') || rest.includes('-h')) && !command.passHelp) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof PrometheanError && error.code === 'bad_flag') {
      console.error(`promethean ${name}: ${error.message}\nRun \`promethean ${name} --help\` for its options.`);
      return 2;
    }
    if (error instanceof PrometheanError) {
      console.error(`promethean ${name}: ${error.code}: ${error.message}`);
      return 1;
    }
    console.error(`promethean ${name}: ${(error as Error)?.stack ?? String(error)}`);
    return 1;
  }
}
