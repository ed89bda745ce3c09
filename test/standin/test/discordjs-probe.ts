/**
 * A real, unmodified discord.js Client + @discordjs/voice in its own process (NODE_EXTRA_CA_CERTS must
 * be set before Node starts, so the tests spawn this file). It logs in to the stand-in, joins the voice
 * channel, subscribes to the given users with its own VoiceReceiver, decodes their Opus and writes one
 * raw PCM file (s16le, 48 kHz stereo, in arrival order) per user.
 *
 * Input (env): STANDIN_API, STANDIN_GUILD, STANDIN_CHANNEL, PROBE_OUT, PROBE_USERS (comma list),
 * PROBE_DAVE ('1' = leave DAVE on, default off), PROBE_TIMEOUT_MS, PROBE_PLAY_PCM (optional: s16le 48 kHz stereo the bot plays through an AudioPlayer).
 * Output (stdout): one JSON object per line: {event:'joined'|'state'|'done'|'error', ...}.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { Client, GatewayIntentBits } from 'discord.js';
import { AudioPlayerStatus, createAudioPlayer, createAudioResource, EndBehaviorType, entersState, joinVoiceChannel, StreamType, VoiceConnectionStatus } from '@discordjs/voice';
import opus from '@discordjs/opus';

const env = process.env;
const say = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
const timeoutMs = Number(env.PROBE_TIMEOUT_MS ?? 30000);
const users = (env.PROBE_USERS ?? '').split(',').filter(Boolean);

const client = new Client({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates], rest: { api: env.STANDIN_API as string } });
const hardStop = setTimeout(() => {
  say({ event: 'error', message: `probe timed out after ${timeoutMs} ms` });
  process.exit(3);
}, timeoutMs);

client.once('clientReady', async () => {
  try {
    const guild = client.guilds.cache.get(env.STANDIN_GUILD as string);
    if (!guild) throw new Error('guild missing from cache');
    const connection = joinVoiceChannel({
      guildId: guild.id,
      channelId: env.STANDIN_CHANNEL as string,
      adapterCreator: guild.voiceAdapterCreator,
      selfDeaf: false,
      daveEncryption: env.PROBE_DAVE === '1',
    });
    connection.on('stateChange', (o, n) => say({ event: 'state', from: o.status, to: n.status, reason: (n as { reason?: number }).reason, closeCode: (n as { closeCode?: number }).closeCode }));
    connection.on('error', (e) => say({ event: 'connection-error', message: e.message }));
    await entersState(connection, VoiceConnectionStatus.Ready, 15_000);
    const pcm = new Map<string, Buffer[]>();
    const frames = new Map<string, number>();
    let open = users.length;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      for (const [id, chunks] of pcm) writeFileSync(join(env.PROBE_OUT as string, `${id}.pcm`), Buffer.concat(chunks));
      say({ event: 'done', frames: Object.fromEntries(frames), status: connection.state.status });
      clearTimeout(hardStop);
      connection.destroy();
      void client.destroy().then(() => process.exit(0));
    };
    for (const id of users) {
      const decoder = new opus.OpusEncoder(48_000, 2);
      pcm.set(id, []);
      frames.set(id, 0);
      const stream = connection.receiver.subscribe(id, { end: { behavior: EndBehaviorType.AfterSilence, duration: 1500 } });
      stream.on('data', (frame: Buffer) => {
        frames.set(id, (frames.get(id) ?? 0) + 1);
        pcm.get(id)?.push(decoder.decode(frame));
      });
      stream.on('error', (e) => say({ event: 'stream-error', user: id, message: e.message }));
      stream.once('close', () => {
        if (--open === 0) finish();
      });
    }
    if (env.PROBE_PLAY_PCM) {
      const pcmIn = readFileSync(env.PROBE_PLAY_PCM);
      const encoder = new opus.OpusEncoder(48_000, 2);
      const opusFrames: Buffer[] = [];
      for (let at = 0; at + 3840 <= pcmIn.length; at += 3840) opusFrames.push(encoder.encode(pcmIn.subarray(at, at + 3840)));
      const player = createAudioPlayer();
      connection.subscribe(player);
      player.play(createAudioResource(Readable.from(opusFrames, { objectMode: true }), { inputType: StreamType.Opus }));
      player.on(AudioPlayerStatus.Idle, () => say({ event: 'played', frames: opusFrames.length }));
      player.on('error', (e) => say({ event: 'player-error', message: e.message }));
    }
    say({ event: 'joined', ssrcs: Object.fromEntries(users.map((id) => [id, connection.receiver.ssrcMap.get(id)?.audioSSRC ?? null])) });
    process.stdin.on('data', (d) => {
      if (d.toString().includes('finish')) finish();
    });
  } catch (error) {
    say({ event: 'error', message: (error as Error).message });
    process.exit(4);
  }
});
process.stdin.resume();
client.login('standin-probe-token').catch((e: Error) => {
  say({ event: 'error', message: `login: ${e.message}` });
  process.exit(5);
});
