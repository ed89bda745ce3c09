/** What the members publisher needs from Discord: who is in a voice channel, and when that changes. */
import type { PayloadOf } from '@promethean/shared';

/** One entry of `voice.members`' `members`. */
export type VoiceMemberInfo = PayloadOf<'voice.members'>['members'][number];

export interface VoiceChannelNames {
  guild_name?: string;
  channel_name?: string;
}

export interface VoiceMemberSource {
  /** Everyone in the voice channel now, the bot included once it has joined. */
  members(guildId: string, channelId: string): VoiceMemberInfo[];
  /** The guild's and the channel's names, where known. */
  names(guildId: string, channelId: string): VoiceChannelNames;
  /** Calls `listener` after a voice state in `guildId` changed (join, leave, move, mute, member data); returns the unsubscribe. */
  onChange(listener: (guildId: string, userId: string) => void): () => void;
}
