/**
 * Entry of the server process (hub, storage, console; SFU signalling as it lands), spawned by the
 * supervisor (`promethean start`) with an environment that holds no provider secret. Settings come
 * from the environment, parsed once with zod. Over IPC it reports `ready` with where it listens and
 * answers `login-link` requests; run by hand it prints the same `ready` object as one JSON line.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { PrometheanError } from '@promethean/shared';
import { runAsProgram, untilStopped } from '@promethean/shared/node';
import { startServer, type Server } from './app.ts';

export const ServerEnv = z.object({
  PROMETHEAN_DATA_DIR: z.string().min(1),
  PROMETHEAN_HOST: z.string().min(1).default('127.0.0.1'),
  PROMETHEAN_PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  PROMETHEAN_PROVIDERS_FILE: z.string().min(1),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  /** The SFU driver. */
  PROMETHEAN_SFU_DRIVER: z.enum(['werift', 'mediasoup']).default('werift'),
  /** UDP port of the SFU's RTP ingest (0 = any; the supervisor keeps the first one across restarts). */
  PROMETHEAN_SFU_INGEST_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  /** Address the SFU's sockets bind to; a wildcard gathers every host address as ICE candidates. */
  PROMETHEAN_SFU_LISTEN_IP: z.string().min(1).default('127.0.0.1'),
  /** Address written into ICE candidates (a server behind a 1:1 NAT). */
  PROMETHEAN_SFU_ANNOUNCED_ADDRESS: z.string().min(1).optional(),
  /** ICE port range `MIN-MAX`. */
  PROMETHEAN_SFU_RTC_PORTS: z.string().regex(/^\d{1,5}-\d{1,5}$/, 'must be MIN-MAX').optional(),
  /** Where browsers reach the hub when it is behind a proxy (`https://…`). */
  PROMETHEAN_PUBLIC_URL: z.url().optional(),
  /** Certificate and key (PEM files) for https/wss. */
  PROMETHEAN_TLS_CERT: z.string().min(1).optional(),
  PROMETHEAN_TLS_KEY: z.string().min(1).optional(),
  /** Port of the loopback listener for agents when the hub listens elsewhere (0 = any). */
  PROMETHEAN_AGENT_PORT: z.coerce.number().int().min(0).max(65535).default(0),
});
export type ServerConfig = z.infer<typeof ServerEnv>;

export function parseServerEnv(env: Readonly<Record<string, string | undefined>>): ServerConfig {
  const r = ServerEnv.safeParse(env);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const name = issue.path.map(String).join('.');
  throw new PrometheanError('bad_config', `${name}: ${issue.message}`, { path: name });
}

function rtcPorts(range: string | undefined): { rtcMinPort?: number; rtcMaxPort?: number } {
  if (!range) return {};
  const [min, max] = range.split('-').map(Number);
  return { rtcMinPort: min!, rtcMaxPort: max! };
}

interface IpcRequest {
  type: string;
  id?: unknown;
}

async function main(): Promise<number> {
  let config: ServerConfig;
  try {
    config = parseServerEnv(process.env);
  } catch (error) {
    console.error(`server: ${(error as Error).message}`);
    return 2;
  }
  const server: Server = await startServer({
    dataDir: config.PROMETHEAN_DATA_DIR,
    host: config.PROMETHEAN_HOST,
    port: config.PROMETHEAN_PORT,
    providersFile: config.PROMETHEAN_PROVIDERS_FILE,
    databaseUrl: config.DATABASE_URL,
    env: process.env,
    publicOrigin: config.PROMETHEAN_PUBLIC_URL,
    agentPort: config.PROMETHEAN_AGENT_PORT,
    sfuDriver: config.PROMETHEAN_SFU_DRIVER,
    ...(config.PROMETHEAN_TLS_CERT && config.PROMETHEAN_TLS_KEY
      ? { tls: { cert: await readFile(config.PROMETHEAN_TLS_CERT, 'utf8'), key: await readFile(config.PROMETHEAN_TLS_KEY, 'utf8') } }
      : {}),
    sfu: {
      ingestPort: config.PROMETHEAN_SFU_INGEST_PORT,
      listenIp: config.PROMETHEAN_SFU_LISTEN_IP,
      announcedAddress: config.PROMETHEAN_SFU_ANNOUNCED_ADDRESS,
      ...rtcPorts(config.PROMETHEAN_SFU_RTC_PORTS),
    },
  });
  const port = Number(new URL(server.hub.httpUrl).port);
  const ready = {
    type: 'ready',
    hub_url: server.hub.url,
    http_url: server.hub.httpUrl,
    key_file: server.hub.agentKeyFile,
    port,
    agent_port: server.hub.agentPort ?? null,
    sfu_ingest_host: server.sfu.ingest.host,
    sfu_ingest_port: server.sfu.ingest.port,
    pid: process.pid,
  };
  if (process.send) {
    process.send(ready);
    process.on('message', (raw: unknown) => {
      const m = raw as IpcRequest;
      if (typeof m !== 'object' || m === null) return;
      if (m.type === 'login-link') {
        server.loginLink().then(
          (link) => process.send?.({ type: 'login-link', id: m.id, link }),
          (error: unknown) => process.send?.({ type: 'login-link', id: m.id, error: (error as Error).message }),
        );
      }
    });
  } else {
    process.stdout.write(`${JSON.stringify(ready)}\n`);
  }
  await untilStopped();
  await server.close();
  return 0;
}

runAsProgram(import.meta.url, 'server', main);
