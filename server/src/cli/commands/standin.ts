/** `promethean standin`: the local Discord stand-in on its own (REST, gateway, voice, simulated speakers). */
import type { Command } from '../args.ts';

export const standinCommand: Command = {
  name: 'standin',
  summary: 'run the protocol-accurate local Discord with simulated speakers',
  usage: `Usage: promethean standin [--speaker NAME=FILE.wav ...] [--loss 0.05] [--jitter-ms 40] [--record DIR] [--port N] [--dave]

Runs a local Discord (REST, gateway, voice WebSocket over TLS, UDP) that any bot token can log in to.
Once ready it prints its REST base URL (for new Client({ rest: { api } })) and the certificate path a
client must trust (NODE_EXTRA_CA_CERTS). With no --speaker it plays the project's own speech fixtures.

Options:
  --speaker NAME=FILE.wav  a simulated speaker playing a WAV (any rate, mono or stereo); repeatable
  --loss <0..1>            fraction of packets each speaker drops
  --jitter-ms <ms>         random extra send delay per packet
  --record <dir>           write one WAV per participant (the bot included)
  --port <n>               HTTP/gateway port (0 = any free port)
  --dave                   negotiate DAVE end-to-end encryption with clients that offer it
  -h, --help               this text`,
  async run(argv) {
    const mod = (await import(new URL('../../../../test/standin/src/cli.ts', import.meta.url).href)) as {
      runStandinCommand(argv: string[]): Promise<number>;
    };
    return mod.runStandinCommand(argv);
  },
};
