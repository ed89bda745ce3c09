import { fileURLToPath } from 'node:url';
import { Client, GatewayIntentBits } from 'discord.js';
import { EndBehaviorType, entersState, joinVoiceChannel, VoiceConnectionStatus } from '@discordjs/voice';
import { describe, expect, it } from 'vitest';
import { startStandin } from '../src/standin.ts';
import { trustCertificateInProcess } from '../src/tls/trust.ts';

const CAROL = fileURLToPath(new URL('../../fixtures/audio/carol_48k.wav', import.meta.url));

describe('discord.js in the test process itself (tls.setDefaultCACertificates instead of NODE_EXTRA_CA_CERTS)', () => {
  it('trustCertificateInProcess() lets an unmodified Client join and receive every frame a speaker sent', async () => {
    const standin = await startStandin({ speakers: [{ name: 'carol', file: CAROL }] });
    trustCertificateInProcess(standin.certPath);
    trustCertificateInProcess(standin.certPath);
    const client = new Client({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates], rest: { api: standin.restApi } });
    try {
      const ready = new Promise<void>((resolve) => client.once('clientReady', () => resolve()));
      await client.login('in-process-token');
      await ready;
      const guild = client.guilds.cache.get(standin.guildId);
      expect(guild?.channels.cache.get(standin.voiceChannelId)?.isVoiceBased()).toBe(true);
      const connection = joinVoiceChannel({ guildId: standin.guildId, channelId: standin.voiceChannelId, adapterCreator: guild!.voiceAdapterCreator, selfDeaf: false, daveEncryption: false });
      await entersState(connection, VoiceConnectionStatus.Ready, 15_000);
      const carol = standin.speakers.get('carol');
      const stream = connection.receiver.subscribe(carol?.userId as string, { end: { behavior: EndBehaviorType.AfterSilence, duration: 500 } });
      let frames = 0;
      stream.on('data', () => frames++);
      const ended = new Promise<void>((resolve) => stream.once('close', () => resolve()));
      await standin.speakers.play('carol');
      await ended;
      expect(frames).toBe(standin.sendLog.entries({ ssrc: carol?.ssrc as number }).length);
      connection.destroy();
    } finally {
      await client.destroy();
      await standin.close();
    }
  });
});
