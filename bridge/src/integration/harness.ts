/**
 * Integration harness: a real hub, the real bridge process (bridge/src/main.ts, spawned so that
 * NODE_EXTRA_CA_CERTS trusts the stand-in's voice certificate from start-up), a bus collector, and a
 * UDP socket standing in for the SFU's ingest so the relay branch can be observed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BusClient, makeEnvelope, type Envelope, type KnownIntent, type PayloadOf } from '@promethean/shared';
import { createHub, type Hub } from '@promethean/server';

export const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
export const PROVIDERS_FILE = fileURLToPath(new URL('../../../providers.yml', import.meta.url));
export const TENANT = 'demo';

export interface PcmRecord {
  userId: string;
  ts: bigint;
  seq: number;
  /** RTP timestamp of the frame. */
  timestamp: number;
  concealed: string | undefined;
  pcm: Int16Array;
  /** When the collector received it (performance.now()). */
  at: number;
}

export class BusCollector {
  readonly pcm: PcmRecord[] = [];
  readonly health: Array<PayloadOf<'voice.health'> & { at: number }> = [];
  readonly states: PayloadOf<'voice.state.connected'>[] = [];
  readonly members: PayloadOf<'voice.members'>[] = [];
  readonly relayStreams: PayloadOf<'voice.relay.streams'>[] = [];
  /** user id → RTP timestamps of the frames published for that user (decoded or concealed). */
  readonly #stamps = new Map<string, Set<number>>();
  readonly errors: Envelope[] = [];
  readonly client: BusClient;

  constructor(hub: Hub) {
    this.client = new BusClient({ url: hub.url, token: hub.agentKey });
  }

  async start(): Promise<void> {
    await this.client.connect();
    const voice = this.client.subscribe(`promethean.p.discord.t.${TENANT}.voice.>`, (env, att) => {
      if (env.intent === 'voice.audio.pcm') {
        const p = env.payload as PayloadOf<'voice.audio.pcm'>;
        const a = att[p.attachment ?? 0]!;
        this.pcm.push({ userId: p.user_id, ts: BigInt(p.ts_monotonic_ns), seq: p.rtp.seq, timestamp: p.rtp.timestamp, concealed: p.rtp.concealed, pcm: new Int16Array(a.slice().buffer), at: performance.now() });
        let stamps = this.#stamps.get(p.user_id);
        if (!stamps) this.#stamps.set(p.user_id, (stamps = new Set()));
        stamps.add(p.rtp.timestamp);
      } else if (env.intent === 'voice.health') this.health.push({ ...(env.payload as PayloadOf<'voice.health'>), at: performance.now() });
      else if (env.intent === 'voice.state.connected') this.states.push(env.payload as PayloadOf<'voice.state.connected'>);
      else if (env.intent === 'voice.members') this.members.push(env.payload as PayloadOf<'voice.members'>);
      else if (env.intent === 'voice.relay.streams') this.relayStreams.push(env.payload as PayloadOf<'voice.relay.streams'>);
    });
    const errors = this.client.subscribe(`promethean.p.*.t.*.error`, (env) => void this.errors.push(env));
    await Promise.all([voice.ready, errors.ready]);
  }

  publish<I extends KnownIntent>(intent: I, payload: PayloadOf<I>, attachments?: Uint8Array[]): void {
    this.client.publish(makeEnvelope(intent, payload as never, { src: 'test', provider: 'discord', tenant: TENANT }), attachments);
  }

  async waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (!(await this.settle(pred, timeoutMs))) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }

  /** Whether a frame with this RTP timestamp was published for the user (O(1), for polling). */
  published(userId: string, timestamp: number | undefined): boolean {
    return timestamp !== undefined && (this.#stamps.get(userId)?.has(timestamp) ?? false);
  }

  /** Resolves true once `pred` holds, false after `timeoutMs` (the caller's assertions then say what is missing). */
  async settle(pred: () => boolean, timeoutMs: number): Promise<boolean> {
    const end = performance.now() + timeoutMs;
    while (!pred()) {
      if (performance.now() > end) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  }

  /** The next `voice.health` to arrive from now on (so it counts everything the bridge did before it). */
  async nextHealth(timeoutMs = 5000): Promise<PayloadOf<'voice.health'> & { at: number }> {
    const n = this.health.length;
    await this.waitFor(() => this.health.length > n, timeoutMs, 'the next voice.health');
    return this.health[n]!;
  }

  /** The SFU relay ssrc of a user's first relayed stream, from `voice.relay.streams`. */
  relaySsrc(userId: string): number | undefined {
    for (const p of this.relayStreams) for (const s of p.streams) if (s.user_id === userId) return s.ssrc;
    return undefined;
  }

  /** One user's PCM placed on a timeline by ts_monotonic_ns (gaps stay silent), as floats. */
  timeline(userId: string, skipConcealed = false, from = 0): Float32Array {
    const frames = this.pcm.slice(from).filter((f) => f.userId === userId && !(skipConcealed && f.concealed));
    if (frames.length === 0) return new Float32Array(0);
    const t0 = frames.reduce((m, f) => (f.ts < m ? f.ts : m), frames[0]!.ts);
    const last = frames.reduce((m, f) => (f.ts > m ? f.ts : m), frames[0]!.ts);
    const out = new Float32Array(Math.round((Number(last - t0) / 1e9) * 48000) + 960);
    for (const f of frames) {
      const at = Math.round((Number(f.ts - t0) / 1e9) * 48000);
      for (let i = 0; i < 960 && at + i < out.length; i++) out[at + i] = f.pcm[i]! / 32768;
    }
    return out;
  }

  close(): void {
    this.client.close();
  }
}

/** One RTP packet the bridge's relay sent to the stand-in SFU ingest. */
export interface RelayedRtp {
  ssrc: number;
  seq: number;
  timestamp: number;
  marker: boolean;
  payload: Uint8Array;
}

/** A UDP socket in the SFU ingest's place: records every RTP packet the bridge relays, in arrival order. */
export class RelayCapture {
  readonly packets: RelayedRtp[] = [];
  readonly #socket: Socket;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('message', (msg) => {
      if (msg.length < 12 || msg[0]! >> 6 !== 2) return;
      let at = 12 + 4 * (msg[0]! & 0x0f);
      if (msg[0]! & 0x10) at += 4 + 4 * msg.readUInt16BE(at + 2);
      this.packets.push({ ssrc: msg.readUInt32BE(8), seq: msg.readUInt16BE(2), timestamp: msg.readUInt32BE(4), marker: (msg[1]! & 0x80) !== 0, payload: new Uint8Array(msg.subarray(at)) });
    });
  }

  static async open(): Promise<RelayCapture> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    return new RelayCapture(socket);
  }

  /** `host:port` for PROMETHEAN_SFU_INGEST. */
  get address(): string {
    const a = this.#socket.address();
    return `${a.address}:${a.port}`;
  }

  /** Packets of one relay stream (ssrc), in arrival order. */
  of(ssrc: number | undefined): RelayedRtp[] {
    return ssrc === undefined ? [] : this.packets.filter((p) => p.ssrc === ssrc);
  }

  close(): void {
    this.#socket.close();
  }
}

export async function startHub(): Promise<Hub> {
  return createHub({ dataDir: mkdtempSync(join(tmpdir(), 'bridge-it-hub-')), writeRuntimeFile: false });
}

export interface BridgeProcess {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Spawns the bridge; the stand-in's guild is put on the tenant's allow-list through DISCORD_GUILD_ID, as
 * `promethean start` does, and avatar URLs point at the stand-in's CDN when it has one.
 */
export function spawnBridge(hub: Hub, standin: { certPath: string; restApi: string; guildId: string; cdnBase?: string }, extraEnv: Record<string, string> = {}): BridgeProcess {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      NODE_EXTRA_CA_CERTS: standin.certPath,
      PROMETHEAN_HUB_URL: hub.url,
      PROMETHEAN_AGENT_TOKEN_FILE: hub.agentKeyFile,
      PROMETHEAN_TENANT: TENANT,
      DISCORD_BOT_TOKEN: 'standin-fake-token',
      PROMETHEAN_PROVIDERS_FILE: PROVIDERS_FILE,
      DISCORD_API_BASE: standin.restApi,
      ...(standin.cdnBase ? { DISCORD_CDN_BASE: standin.cdnBase } : {}),
      DISCORD_GUILD_ID: standin.guildId,
      BRIDGE_LOG_LEVEL: 'warn',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d.toString()));
  child.stderr?.on('data', (d) => (out += d.toString()));
  return {
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Publishes `voice.control.join` once a second until a `voice.state.connected` satisfies `ready`
 * (the bridge subscribes only once it is up; joins are idempotent). Throws with the bridge's log tail
 * after `timeoutMs` or when the bridge exits.
 */
export async function joinUntilConnected(
  bus: BusCollector,
  bridge: BridgeProcess,
  standin: { guildId: string; voiceChannelId: string },
  sessionId: string,
  ready: (state: PayloadOf<'voice.state.connected'>) => boolean = (s) => s.status === 'connected',
  timeoutMs = 40_000,
): Promise<void> {
  const t0 = performance.now();
  while (!bus.states.some(ready)) {
    if (performance.now() - t0 > timeoutMs || bridge.child.exitCode !== null) {
      throw new Error(`bridge did not connect: ${JSON.stringify(bus.states.at(-1))} ${bridge.output().slice(-3000)}`);
    }
    bus.publish('voice.control.join', { guild_id: standin.guildId, channel_id: standin.voiceChannelId, session_id: sessionId, prefer_opus: true, self_mute: false, self_deaf: false });
    await new Promise((r) => setTimeout(r, 1000));
  }
}
