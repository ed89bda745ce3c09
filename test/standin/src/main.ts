/**
 * The stand-in as its own program: `node --import tsx test/standin/src/main.ts [flags]`. Run by
 * `promethean standin` and, when no Discord credentials are configured, by the supervisor behind
 * `promethean start` (no runtime package imports the stand-in). Besides the `promethean standin`
 * flags it takes `--data-dir DIR` (certificate and state) and `--quiet` (no protocol log lines).
 * Under a parent with an IPC channel it sends `{ type: 'ready', rest_api, cdn_base, cert_path,
 * guild_id, voice_channel_id, port, speakers }` once listening, and stops when that parent goes away.
 */
import { pathToFileURL } from 'node:url';
import { PrometheanError } from '@promethean/shared';
import { STANDIN_USAGE, parseStandinFlags } from './cli.ts';
import { createDaveExtension } from './dave/index.ts';

export const PROGRAM_USAGE = `${STANDIN_USAGE}
  --data-dir <dir>         where the certificate and state are kept
  --quiet                  no protocol log lines`;

/** Splits the program's own flags from the `promethean standin` flags. */
function ownFlags(argv: string[]): { dataDir: string | undefined; quiet: boolean; rest: string[] } {
  const rest: string[] = [];
  let dataDir: string | undefined;
  let quiet = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quiet') quiet = true;
    else if (a === '--data-dir') {
      dataDir = argv[++i];
      if (!dataDir) throw new PrometheanError('bad_flag', '--data-dir needs a directory');
    } else if (a.startsWith('--data-dir=')) dataDir = a.slice('--data-dir='.length);
    else rest.push(a);
  }
  return { dataDir, quiet, rest };
}

async function main(argv: string[]): Promise<number> {
  let flags: ReturnType<typeof parseStandinFlags>;
  let own: ReturnType<typeof ownFlags>;
  try {
    own = ownFlags(argv);
    flags = parseStandinFlags(own.rest);
  } catch (error) {
    if (error instanceof PrometheanError && error.code === 'bad_flag') {
      console.error(`promethean standin: ${error.message}\nRun \`promethean standin --help\` for its options.`);
      return 2;
    }
    throw error;
  }
  if (flags.help) {
    console.log(PROGRAM_USAGE);
    return 0;
  }
  const { startStandin } = await import('./standin.ts');
  const extensions = flags.dave ? [createDaveExtension()] : [];
  const standin = await startStandin({
    ...flags.options,
    ...(own.dataDir ? { dataDir: own.dataDir } : {}),
    extensions,
    log: own.quiet ? () => undefined : (m) => console.error(m),
  });
  const port = Number(new URL(standin.restApi).port);
  const speakers = standin.speakers.list().map((s) => s.name);
  if (process.send) {
    process.send({ type: 'ready', rest_api: standin.restApi, cdn_base: standin.cdnBase, cert_path: standin.certPath, guild_id: standin.guildId, voice_channel_id: standin.voiceChannelId, port, speakers });
  }
  console.log(`REST base URL: ${standin.restApi}`);
  console.log(`CDN base URL:  ${standin.cdnBase}`);
  console.log(`Certificate:   ${standin.certPath}   (run clients with NODE_EXTRA_CA_CERTS=${standin.certPath})`);
  console.log(`Guild ${standin.guildId}, voice channel ${standin.voiceChannelId}; speakers: ${standin.speakers.list().map((s) => `${s.name} (${s.userId})`).join(', ')}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    process.once('disconnect', resolve);
  });
  const written = await standin.close();
  for (const p of written) console.log(`recorded ${p}`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      const e = error instanceof PrometheanError ? `${error.code}: ${error.message}` : String((error as Error)?.stack ?? error);
      console.error(`standin: ${e}`);
      process.exit(1);
    },
  );
}
