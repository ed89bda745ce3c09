/** `promethean standin`: the local Discord stand-in on its own (REST, gateway, voice, simulated speakers). */
import { STANDIN_USAGE, runStandinCommand } from '@promethean/standin';
import type { Command } from '../args.ts';

export const standinCommand: Command = {
  name: 'standin',
  summary: 'run the protocol-accurate local Discord with simulated speakers',
  usage: STANDIN_USAGE,
  run: (argv) => runStandinCommand(argv),
};
