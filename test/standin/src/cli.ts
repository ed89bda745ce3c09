/**
 * `promethean standin`: runs the stand-in until SIGINT/SIGTERM. Prints the REST base URL and the
 * certificate path once ready. Bad flags → one clear error line and exit code 2.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PrometheanError } from '@promethean/shared';
import type { SpeakerSpec } from './speakers/manager.ts';
import type { VoiceServerExtension } from './voice/extension.ts';

/** Seconds between an `--ask` speaker's passes unless `--ask-every` says otherwise. */
export const DEFAULT_ASK_EVERY_S = 45;

export const STANDIN_USAGE = `Usage: promethean standin [--speaker NAME=FILE.wav ...] [--ask NAME=FILE.wav [--ask-every S]] [--pause-s S] [--loss 0.05] [--jitter-ms 40] [--record DIR] [--port N] [--no-dave]

Runs a local Discord (REST, gateway, voice WebSocket over TLS, UDP) that any bot token can log in to.
Once ready it prints its REST base URL and CDN base URL (for new Client({ rest: { api, cdn } })) and
the certificate path a client must trust (NODE_EXTRA_CA_CERTS). With no --speaker it plays test/fixtures/audio in a loop.

Options:
  --speaker NAME=FILE.wav  a simulated speaker playing a WAV (any rate, mono or stereo); repeatable
  --ask NAME=FILE.wav      one more simulated speaker who says FILE now and then (a question for the
                           bot), beside the --speaker ones or the fixtures; repeatable
  --ask-every <s>          seconds between an --ask speaker's passes (5..3600, default ${DEFAULT_ASK_EVERY_S})
  --pause-s <s>            seconds between the other speakers' looped passes (0..3600, default 1.5)
  --loss <0..1>            fraction of packets each speaker drops
  --jitter-ms <ms>         random extra send delay per packet (0..10000)
  --reorder <0..1>         fraction of packets held back so later ones overtake them
  --drift-ppm <ppm>        speakers' clock error
  --seed <n>               seed for loss, jitter, ssrcs
  --record <dir>           write one WAV per participant (the bot included) on exit
  --port <n>               HTTP/gateway port (0 = any free port)
  --once                   play each speaker once instead of looping
  --no-dave                transport encryption only: do not offer DAVE end-to-end encryption
                           (on by default, as on Discord, which refuses voice without it since March 2026;
                           --dave is accepted and changes nothing)
  -h, --help               this text`;

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'audio');

/** The project's speech fixtures as speakers (jfk, alice, bob, carol): what `promethean start` can use with no Discord token. */
export function fixtureSpeakers(): SpeakerSpec[] {
  const out: SpeakerSpec[] = [];
  for (const f of ['jfk_16k.wav', 'alice_22k.wav', 'bob_16k_stereo.wav', 'carol_48k.wav']) {
    const file = join(FIXTURES, f);
    if (existsSync(file)) out.push({ name: basename(f, '.wav').split('_')[0] as string, file });
  }
  return out;
}

function badFlag(message: string): never {
  throw new PrometheanError('bad_flag', message);
}

function num(name: string, value: string | undefined, min: number, max: number, integer = false): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    badFlag(`--${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got "${value}"`);
  }
  return n;
}

/** Parses argv into startStandin options (exported for tests). Throws PrometheanError('bad_flag'). */
export function parseStandinFlags(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      allowNegative: true,
      options: {
        speaker: { type: 'string', multiple: true },
        ask: { type: 'string', multiple: true },
        'ask-every': { type: 'string' },
        'pause-s': { type: 'string' },
        loss: { type: 'string' },
        'jitter-ms': { type: 'string' },
        reorder: { type: 'string' },
        'drift-ppm': { type: 'string' },
        seed: { type: 'string' },
        record: { type: 'string' },
        port: { type: 'string' },
        once: { type: 'boolean' },
        dave: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (cause) {
    throw new PrometheanError('bad_flag', (cause as Error).message.replace(/\. To specify a positional argument.*$/s, ''), { cause });
  }
  const v = parsed.values;
  const speakers: SpeakerSpec[] = [];
  for (const s of v.speaker ?? []) {
    const eq = s.indexOf('=');
    if (eq <= 0 || eq === s.length - 1) badFlag(`--speaker must be NAME=FILE.wav, got "${s}"`);
    const name = s.slice(0, eq);
    const file = s.slice(eq + 1);
    if (!existsSync(file)) badFlag(`--speaker ${name}: file not found: ${file}`);
    if (speakers.some((x) => x.name === name)) badFlag(`--speaker ${name} given twice`);
    speakers.push({ name, file });
  }
  if (speakers.length === 0) speakers.push(...fixtureSpeakers());
  const askEveryS = num('ask-every', v['ask-every'], 5, 3600) ?? DEFAULT_ASK_EVERY_S;
  for (const s of v.ask ?? []) {
    const eq = s.indexOf('=');
    if (eq <= 0 || eq === s.length - 1) badFlag(`--ask must be NAME=FILE.wav, got "${s}"`);
    const name = s.slice(0, eq);
    const file = s.slice(eq + 1);
    if (!existsSync(file)) badFlag(`--ask ${name}: file not found: ${file}`);
    if (speakers.some((x) => x.name === name)) badFlag(`--ask ${name}: the name is taken by another speaker`);
    speakers.push({ name, file, pauseMs: askEveryS * 1000 });
  }
  const pauseS = num('pause-s', v['pause-s'], 0, 3600);
  const loss = num('loss', v.loss, 0, 1);
  const jitterMs = num('jitter-ms', v['jitter-ms'], 0, 10_000);
  const reorder = num('reorder', v.reorder, 0, 1);
  const driftPpm = num('drift-ppm', v['drift-ppm'], -100_000, 100_000);
  return {
    help: v.help === true,
    // DAVE unless --no-dave, as on Discord
    dave: v.dave !== false,
    options: {
      speakers,
      impairment: { loss: loss ?? 0, jitterMs: jitterMs ?? 0, reorder: reorder ?? 0, driftPpm: driftPpm ?? 0 },
      seed: num('seed', v.seed, 0, 2 ** 32 - 1, true) ?? 1,
      port: num('port', v.port, 0, 65535, true) ?? 0,
      recordDir: v.record,
      autoplay: true,
      loop: v.once !== true,
      ...(pauseS !== undefined ? { loopPauseMs: Math.round(pauseS * 1000) } : {}),
    },
  };
}

/** Loads the DAVE extension from ../dave/index.ts (export `createDaveExtension()`), when present. */
async function loadDave(): Promise<VoiceServerExtension> {
  const path = join(dirname(fileURLToPath(import.meta.url)), 'dave', 'index.ts');
  if (!existsSync(path)) throw new PrometheanError('unsupported', '--dave: the DAVE extension (test/standin/src/dave/) is not installed');
  const mod = (await import(path)) as { createDaveExtension?: () => VoiceServerExtension | Promise<VoiceServerExtension> };
  if (typeof mod.createDaveExtension !== 'function') throw new PrometheanError('unsupported', '--dave: dave/index.ts exports no createDaveExtension()');
  return mod.createDaveExtension();
}

export async function runStandinCommand(argv: string[]): Promise<number> {
  let flags: ReturnType<typeof parseStandinFlags>;
  try {
    flags = parseStandinFlags(argv);
  } catch (error) {
    if (error instanceof PrometheanError && error.code === 'bad_flag') {
      console.error(`promethean standin: ${error.message}\nRun \`promethean standin --help\` for its options.`);
      return 2;
    }
    throw error;
  }
  if (flags.help) {
    console.log(STANDIN_USAGE);
    return 0;
  }
  const { startStandin } = await import('./standin.ts');
  const extensions = flags.dave ? [await loadDave()] : [];
  const standin = await startStandin({ ...flags.options, extensions, log: (m) => console.error(m) });
  console.log(`REST base URL: ${standin.restApi}`);
  console.log(`CDN base URL:  ${standin.cdnBase}   (new Client({ rest: { api, cdn } }); the bridge reads DISCORD_CDN_BASE)`);
  console.log(`Certificate:   ${standin.certPath}   (run clients with NODE_EXTRA_CA_CERTS=${standin.certPath})`);
  console.log(`Guild ${standin.guildId}, voice channel ${standin.voiceChannelId}; speakers: ${standin.speakers.list().map((s) => `${s.name} (${s.userId})`).join(', ')}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const written = await standin.close();
  for (const p of written) console.log(`recorded ${p}`);
  return 0;
}
