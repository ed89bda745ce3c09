/**
 * `promethean start`: a small supervisor that serves nothing on the network. It spawns the server,
 * the workers and the access agents (and, with no Discord credentials, the stand-in), restarts a
 * crashed child with backoff, and prints a login link.
 */
import { join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { PROJECT_ROOT, isLoopback } from '../../app.ts';
import { Supervisor } from '../../supervisor/supervisor.ts';
import { PrometheanError } from '@promethean/shared';
import { numberFlag, parseFlags, type Command } from '../args.ts';

export const startCommand: Command = {
  name: 'start',
  summary: 'start the hub, storage and every agent on embedded defaults; prints a login link',
  usage: `Usage: promethean start [--port N] [--host ADDR] [--data-dir DIR] [--providers FILE] [--speaker NAME=FILE.wav ...] [--no-dave] [--no-speech] [--sfu werift|mediasoup]

Supervises one process per part: the server (hub, storage, console), the workers, and each access
agent with only its own credentials. Storage is PGlite under the data directory, or PostgreSQL when
DATABASE_URL is set. With no Discord credentials configured (see providers.yml) it also runs the
built-in Discord stand-in with simulated speakers. DISCORD_API_BASE (and NODE_EXTRA_CA_CERTS) point
the access agents at another Discord-compatible endpoint. Prints a login link on every start.

Options:
  --port <n>               hub HTTP/WebSocket port (default 8787; 0 = any free port)
  --host <addr>            listen address (default 127.0.0.1)
  --data-dir <dir>         data directory (default .data in the project)
  --providers <file>       providers.yml to use
  --speaker NAME=FILE.wav  a simulated speaker for the built-in stand-in; repeatable
  --no-dave                the built-in stand-in offers transport encryption only (by default it
                           negotiates DAVE end-to-end encryption, as Discord does; --dave is accepted)
  --no-speech              do not start the local speech server nor what needs it (live
                           transcripts, the TTS worker, the bots' brains); listening is unaffected
  --sfu <driver>           werift (default; pure TypeScript) or mediasoup (C++ workers, one per
                           core; needs the worker built by scripts/build-mediasoup-worker.sh)
  --announced-address <a>  address browsers reach the SFU at (a LAN address, or the public address
                           of a server behind NAT); with it the SFU listens on every interface
  --rtc-ports <min-max>    UDP ports for WebRTC media (open them in a firewall)
  --public-url <url>       where browsers reach the hub when it is behind a proxy (https://…)
  --tls-cert <file>        serve https/wss with this certificate (PEM; with --tls-key)
  --tls-key <file>         the certificate's private key (PEM)
  --insecure               allow a non-loopback --host without TLS (prints a warning)
  -h, --help               this text

A --host other than loopback needs --tls-cert and --tls-key (or a TLS proxy in front, with
--public-url https://… and --insecure): session cookies and voice must not cross a network in clear.`,
  async run(argv) {
    const { values } = parseFlags(argv, {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      providers: { type: 'string' },
      speaker: { type: 'string', multiple: true },
      dave: { type: 'boolean' },
      'no-dave': { type: 'boolean' },
      'no-speech': { type: 'boolean' },
      'announced-address': { type: 'string' },
      sfu: { type: 'string' },
      'rtc-ports': { type: 'string' },
      'public-url': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      insecure: { type: 'boolean' },
    });
    const host = values.host ?? '127.0.0.1';
    const certFile = values['tls-cert'];
    const keyFile = values['tls-key'];
    if ((certFile === undefined) !== (keyFile === undefined)) throw new PrometheanError('bad_flag', '--tls-cert and --tls-key go together');
    for (const f of [certFile, keyFile]) if (f !== undefined && !existsSync(f)) throw new PrometheanError('bad_flag', `no such file: ${f}`);
    if (!isLoopback(host) && certFile === undefined && values.insecure !== true) {
      throw new PrometheanError('bad_flag', `--host ${host} is reachable from other machines: give --tls-cert and --tls-key (or put a TLS proxy in front and pass --insecure)`);
    }
    if (!isLoopback(host) && certFile === undefined) console.error(`WARNING: serving on ${host} without TLS (--insecure): session cookies and audio cross the network in clear`);
    const port = numberFlag('port', values.port, 0, 65535);
    const rtcPorts = values['rtc-ports'];
    if (rtcPorts !== undefined) {
      const m = /^(\d{1,5})-(\d{1,5})$/.exec(rtcPorts);
      if (!m || Number(m[1]) < 1024 || Number(m[2]) > 65535 || Number(m[1]) >= Number(m[2])) throw new PrometheanError('bad_flag', `--rtc-ports must be MIN-MAX with 1024 <= MIN < MAX <= 65535, got "${rtcPorts}"`);
    }
    const publicUrl = values['public-url'];
    if (publicUrl !== undefined && !/^https?:\/\/[^/\s]+\/?$/.test(publicUrl)) throw new PrometheanError('bad_flag', `--public-url must be an origin such as https://mod.example.org, got "${publicUrl}"`);
    const announced = values['announced-address'];
    const driver = values.sfu ?? 'werift';
    if (driver !== 'werift' && driver !== 'mediasoup') throw new PrometheanError('bad_flag', `--sfu must be werift or mediasoup, got "${driver}"`);
    const supervisor = new Supervisor({
      projectRoot: PROJECT_ROOT,
      env: process.env,
      dataDir: values['data-dir'] ? resolve(values['data-dir']) : join(PROJECT_ROOT, '.data'),
      providersFile: values.providers ? resolve(values.providers) : join(PROJECT_ROOT, 'providers.yml'),
      ...(port !== undefined ? { port } : {}),
      ...(values.host ? { host: values.host } : {}),
      standinSpeakers: values.speaker ?? [],
      standinDave: values['no-dave'] !== true,
      speech: values['no-speech'] !== true,
      sfu: {
        driver,
        ...(announced ? { announcedAddress: announced, listenIp: '0.0.0.0' } : {}),
        ...(rtcPorts ? { rtcPorts } : {}),
      },
      publicUrl,
      ...(certFile && keyFile ? { tls: { certFile: resolve(certFile), keyFile: resolve(keyFile) } } : {}),
    });
    const stopped = new Promise<void>((done) => {
      process.once('SIGINT', () => done());
      process.once('SIGTERM', () => done());
    });
    await supervisor.start();
    console.log(`\nPromethean Voice Bridge is running.\n  login: ${await supervisor.loginLink()}\n  hub:   ${supervisor.server!.hub_url}\nPress Ctrl-C to stop.\n`);
    await stopped;
    console.error('stopping…');
    await supervisor.close();
    return 0;
  },
};
