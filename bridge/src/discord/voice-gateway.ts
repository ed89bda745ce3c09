/**
 * The one place the bridge touches discord.js: joining a voice channel through a logged-in Client's
 * guild voice adapter. The agent depends on {@link VoiceGateway}, not on the Client.
 */
import { joinVoiceChannel, type VoiceConnection } from '@discordjs/voice';
import type { Client } from 'discord.js';
import { PrometheanError } from '@promethean/shared';

export interface JoinRequest {
  guildId: string;
  channelId: string;
  selfMute: boolean;
  selfDeaf: boolean;
}

export interface VoiceGateway {
  /** Starts joining; the returned connection moves to Ready on its own. Throws for an unknown guild. */
  join(request: JoinRequest): VoiceConnection;
}

export class DiscordVoiceGateway implements VoiceGateway {
  private readonly client: Client;
  constructor(client: Client) {
    this.client = client;
  }

  join(request: JoinRequest): VoiceConnection {
    const guild = this.client.guilds.cache.get(request.guildId);
    if (!guild) throw new PrometheanError('invalid_state', `the bot is not in guild ${request.guildId}`, { path: 'guild_id' });
    return joinVoiceChannel({
      guildId: request.guildId,
      channelId: request.channelId,
      adapterCreator: guild.voiceAdapterCreator,
      selfMute: request.selfMute,
      selfDeaf: request.selfDeaf,
      // one connection per guild and bridge client
      group: this.client.user?.id ?? 'default',
    });
  }
}
