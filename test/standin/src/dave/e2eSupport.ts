/**
 * Helpers for the DAVE end-to-end tests: a real discord.js bot joined to the stand-in's voice channel
 * with the real @discordjs/voice, test audio, and Opus-level comparison of what was sent and received.
 */
import opus from '@discordjs/opus';
import { EndBehaviorType, entersState, joinVoiceChannel, VoiceConnectionStatus, type VoiceConnection } from '@discordjs/voice';
import { Client, GatewayIntentBits } from 'discord.js';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import type { PcmAudio } from '../audio/wav.ts';
import type { Standin } from '../standin.ts';
import { OPUS_SILENCE } from './opcodes.ts';

/** Trusts the stand-in's self-signed certificate in this process (Node ≥ 22.15 / 24). */
export function trustStandinCertificate(certPath: string): void {
  const pem = readFileSync(certPath, 'utf8');
  const current = tls.getCACertificates('default');
  if (!current.includes(pem)) tls.setDefaultCACertificates([...current, pem]);
}

export interface Bot {
  client: Client;
  connection: VoiceConnection;
  userId: string;
  debug: string[];
  close(): Promise<void>;
}

/** Logs a discord.js bot into the stand-in and joins its voice channel with DAVE allowed. */
export async function joinBot(standin: Standin, token = 'dave-e2e-bot'): Promise<Bot> {
  trustStandinCertificate(standin.certPath);
  const client = new Client({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates], rest: { api: standin.restApi } });
  const ready = new Promise<void>((resolve) => client.once('clientReady', () => resolve()));
  await client.login(token);
  await ready;
  const guild = await client.guilds.fetch(standin.guildId);
  const debug: string[] = [];
  const connection = joinVoiceChannel({
    guildId: standin.guildId,
    channelId: standin.voiceChannelId,
    adapterCreator: guild.voiceAdapterCreator,
    selfDeaf: false,
    debug: true,
    // one connection group per bot: several stand-ins in one process may reuse guild ids
    group: token,
  });
  connection.on('debug', (m) => debug.push(m));
  await entersState(connection, VoiceConnectionStatus.Ready, 20_000);
  return {
    client,
    connection,
    userId: client.user?.id ?? '',
    debug,
    async close() {
      if (connection.state.status !== VoiceConnectionStatus.Destroyed) connection.destroy();
      await client.destroy();
    },
  };
}

/** Subscribes to `userId` with the library's own receiver; collects every Opus packet it yields. */
export function collect(connection: VoiceConnection, userId: string): { frames: Buffer[]; errors: Error[] } {
  const out = { frames: [] as Buffer[], errors: [] as Error[] };
  const stream = connection.receiver.subscribe(userId, { end: { behavior: EndBehaviorType.Manual } });
  stream.on('data', (b: Buffer) => out.frames.push(b));
  stream.on('error', (e: Error) => out.errors.push(e));
  return out;
}

/** A speech-like test signal: a few harmonics under a 3 Hz syllable envelope. */
export function speechLike(seconds: number, f0: number): PcmAudio {
  const n = Math.round(seconds * 48_000);
  const ch = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / 48_000;
    const env = 0.5 + 0.5 * Math.sin(2 * Math.PI * 3 * t);
    ch[i] = 0.3 * env * (Math.sin(2 * Math.PI * f0 * t) + 0.5 * Math.sin(2 * Math.PI * 2 * f0 * t) + 0.25 * Math.sin(2 * Math.PI * 3 * f0 * t));
  }
  return { sampleRate: 48_000, channels: [ch] };
}

/** Decodes Opus frames in order into mono float samples (left channel). */
export function decodeMono(frames: readonly Uint8Array[]): Float32Array {
  const dec = new opus.OpusEncoder(48_000, 2);
  const parts: Float32Array[] = [];
  for (const f of frames) {
    const pcm = dec.decode(Buffer.from(f));
    const mono = new Float32Array(pcm.length / 4);
    for (let i = 0; i < mono.length; i++) mono[i] = pcm.readInt16LE(i * 4) / 32768;
    parts.push(mono);
  }
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Pearson correlation of two equal-length windows. */
export function correlation(a: Float32Array, b: Float32Array): number {
  const n = Math.min(a.length, b.length);
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i]! - ma;
    const y = b[i]! - mb;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  return saa === 0 || sbb === 0 ? 0 : sab / Math.sqrt(saa * sbb);
}

/**
 * Aligns `received` with `sent` (speech frames only) by the first byte-identical frame and returns the
 * decoded correlation plus how many received frames are byte-identical to the sent frame at that spot.
 */
export function compareOpus(sent: readonly Uint8Array[], received: readonly Uint8Array[]): { corr: number; identical: number; offset: number; compared: number } {
  const speechSent = sent.filter((f) => !Buffer.from(f).equals(OPUS_SILENCE));
  const speechRecv = received.filter((f) => !Buffer.from(f).equals(OPUS_SILENCE));
  const first = speechRecv[0];
  const offset = first === undefined ? -1 : speechSent.findIndex((f) => Buffer.from(f).equals(first));
  if (offset < 0) return { corr: 0, identical: 0, offset, compared: 0 };
  const n = Math.min(speechSent.length - offset, speechRecv.length);
  const a = speechSent.slice(offset, offset + n);
  const b = speechRecv.slice(0, n);
  let identical = 0;
  for (let i = 0; i < n; i++) if (Buffer.from(a[i]!).equals(Buffer.from(b[i]!))) identical++;
  return { corr: correlation(decodeMono(a), decodeMono(b)), identical, offset, compared: n };
}

/** A persistent receiver tap on one user: re-subscribes when the library destroys the stream. */
export class ReceiveTap {
  readonly frames: Buffer[] = [];
  readonly errors: Error[] = [];
  private closed = false;

  private readonly connection: VoiceConnection;
  readonly userId: string;

  constructor(connection: VoiceConnection, userId: string) {
    this.connection = connection;
    this.userId = userId;
    this.subscribe();
  }

  /** Speech (non-silence) frames received so far. */
  get speech(): number {
    return this.frames.filter((f) => !f.equals(OPUS_SILENCE)).length;
  }

  close(): void {
    this.closed = true;
    this.connection.receiver.subscriptions.get(this.userId)?.destroy();
  }

  private subscribe(): void {
    const stream = this.connection.receiver.subscribe(this.userId, { end: { behavior: EndBehaviorType.Manual } });
    stream.on('data', (b: Buffer) => this.frames.push(b));
    stream.on('error', (e: Error) => this.errors.push(e));
    stream.once('close', () => {
      if (!this.closed) setImmediate(() => this.subscribe());
    });
  }
}
