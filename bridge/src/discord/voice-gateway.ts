/**
 * The one place the bridge touches discord.js: joining a voice channel through a logged-in Client's
 * guild voice adapter. The agent depends on {@link VoiceGateway}, not on the Client.
 */
import { joinVoiceChannel, type VoiceConnection } from '@discordjs/voice';
import { PermissionFlagsBits, type Client } from 'discord.js';
import { PrometheanError } from '@promethean/shared';
import { installDaveErrorHandler } from '../networking/dave-errors.ts';

export interface JoinRequest {
  guildId: string;
  channelId: string;
  selfMute: boolean;
  selfDeaf: boolean;
}

export interface VoiceGateway {
  /** Starts joining; the returned connection moves to Ready on its own. Throws for an unknown guild. */
  join(request: JoinRequest): VoiceConnection;
  /** Why the bot cannot join the channel as the gateway's state shows it (no CONNECT, full), or undefined. */
  whyNotJoinable?(guildId: string, channelId: string): string | undefined;
}

export class DiscordVoiceGateway implements VoiceGateway {
  private readonly client: Client;
  constructor(client: Client) {
    this.client = client;
    // the library lets DAVE errors escape its WebSocket handler; they must not end the bridge
    installDaveErrorHandler();
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

  whyNotJoinable(guildId: string, channelId: string): string | undefined {
    const guild = this.client.guilds.cache.get(guildId);
    if (!guild) return `the bot is not in guild ${guildId}`;
    const channel = guild.channels.cache.get(channelId);
    if (!channel) return `channel ${channelId} not found in guild ${guildId}`;
    if (!channel.isVoiceBased()) return `channel ${channelId} is not a voice channel`;
    const me = guild.members.me;
    if (!me) return undefined;
    const perms = channel.permissionsFor(me);
    if (!perms.has(PermissionFlagsBits.ViewChannel) || !perms.has(PermissionFlagsBits.Connect)) return 'no permission to connect (the bot lacks CONNECT on the channel)';
    if (channel.full && !perms.has(PermissionFlagsBits.MoveMembers)) return `channel full (user limit ${channel.userLimit})`;
    return undefined;
  }
}
