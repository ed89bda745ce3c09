/**
 * {@link VoiceMemberSource} over a logged-in discord.js Client with only the Guilds and
 * GuildVoiceStates intents: the guild's voice-state cache says who is in a channel, and the member
 * objects Discord sends with GUILD_CREATE and every VOICE_STATE_UPDATE give names and avatars. A voice
 * state whose member is not cached is looked up once over REST (no privileged intent needed).
 */
import { Events, type Client, type Guild, type ImageURLOptions, type VoiceState } from 'discord.js';
import type { VoiceChannelNames, VoiceMemberInfo, VoiceMemberSource } from '../members/source.ts';

/** Avatars as 128 px PNG: every CDN serves PNG, including a stand-in's, and browsers show it. */
export const AVATAR_OPTIONS: ImageURLOptions = { extension: 'png', size: 128, forceStatic: true };
const MAX_LOOKUPS = 32;
const MAX_NAME = 128;

export class DiscordVoiceMembers implements VoiceMemberSource {
  readonly #client: Client;
  readonly #listeners = new Set<(guildId: string, userId: string) => void>();
  /** Member look-ups in flight, by `guild:user` (bounded). */
  readonly #lookups = new Set<string>();

  constructor(client: Client) {
    this.#client = client;
  }

  members(guildId: string, channelId: string): VoiceMemberInfo[] {
    const guild = this.#client.guilds.cache.get(guildId);
    if (!guild) return [];
    const out: VoiceMemberInfo[] = [];
    for (const state of guild.voiceStates.cache.values()) if (state.channelId === channelId) out.push(this.#info(guild, state));
    return out;
  }

  names(guildId: string, channelId: string): VoiceChannelNames {
    const guild = this.#client.guilds.cache.get(guildId);
    const channel = guild?.channels.cache.get(channelId);
    return { ...(guild?.name ? { guild_name: guild.name } : {}), ...(channel?.name ? { channel_name: channel.name } : {}) };
  }

  onChange(listener: (guildId: string, userId: string) => void): () => void {
    if (this.#listeners.size === 0) this.#client.on(Events.VoiceStateUpdate, this.#onVoiceState);
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#client.off(Events.VoiceStateUpdate, this.#onVoiceState);
    };
  }

  #onVoiceState = (_old: VoiceState, state: VoiceState): void => this.#emit(state.guild.id, state.id);

  #emit(guildId: string, userId: string): void {
    for (const l of this.#listeners) l(guildId, userId);
  }

  #info(guild: Guild, state: VoiceState): VoiceMemberInfo {
    const member = guild.members.cache.get(state.id);
    const user = member?.user ?? this.#client.users.cache.get(state.id);
    if (!member) this.#lookUp(guild, state.id);
    const name = member?.displayName ?? user?.displayName ?? state.id;
    return {
      user_id: state.id,
      display_name: name.length > MAX_NAME ? name.slice(0, MAX_NAME) : name || state.id,
      avatar_url: (member ?? user)?.displayAvatarURL(AVATAR_OPTIONS) ?? null,
      bot: user?.bot ?? false,
      mute: state.serverMute === true,
      deaf: state.serverDeaf === true,
      self_mute: state.selfMute === true,
      self_deaf: state.selfDeaf === true,
    };
  }

  /** Fetches a member the cache lacks, then reports a change so the next list has the name. */
  #lookUp(guild: Guild, userId: string): void {
    const key = `${guild.id}:${userId}`;
    if (this.#lookups.has(key) || this.#lookups.size >= MAX_LOOKUPS) return;
    this.#lookups.add(key);
    guild.members
      .fetch(userId)
      .then(() => this.#emit(guild.id, userId))
      .catch(() => undefined) // a user who left the guild keeps the id as the name
      .finally(() => this.#lookups.delete(key));
  }
}
