/**
 * The stand-in's Discord state: one guild with one voice channel (and a text channel), the bots that
 * log in and the simulated speakers as members, and everyone's voice state. Gateway and voice server
 * both read it; changes are announced as events.
 */
import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import { SnowflakeGenerator } from './util/snowflake.ts';

export interface StandinUser {
  id: string;
  username: string;
  bot: boolean;
}

export interface StandinVoiceState {
  user_id: string;
  guild_id: string;
  channel_id: string | null;
  session_id: string;
  deaf: boolean;
  mute: boolean;
  self_deaf: boolean;
  self_mute: boolean;
  self_video: boolean;
  suppress: boolean;
  request_to_speak_timestamp: null;
}

export interface WorldEvents {
  voiceStateUpdate: [state: StandinVoiceState];
  memberAdd: [user: StandinUser];
}

export class World extends EventEmitter<WorldEvents> {
  readonly guildId: string;
  readonly voiceChannelId: string;
  readonly textChannelId: string;
  readonly applicationId: string;
  readonly ownerId: string;
  readonly guildName: string;
  readonly channelName: string;
  readonly createdAt = new Date('2026-01-01T00:00:00.000Z').toISOString();
  readonly users = new Map<string, StandinUser>();
  readonly voiceStates = new Map<string, StandinVoiceState>();
  readonly #ids: SnowflakeGenerator;
  readonly #botsByToken = new Map<string, StandinUser>();

  constructor(options: { guildName: string; channelName: string }) {
    super();
    this.#ids = new SnowflakeGenerator();
    this.guildName = options.guildName;
    this.channelName = options.channelName;
    this.guildId = this.#ids.next();
    this.voiceChannelId = this.#ids.next();
    this.textChannelId = this.#ids.next();
    this.applicationId = this.#ids.next();
    this.ownerId = this.#ids.next();
    this.users.set(this.ownerId, { id: this.ownerId, username: 'standin-owner', bot: false });
  }

  newId(): string {
    return this.#ids.next();
  }

  /** Any token logs in; each distinct token is its own bot user (stable for the stand-in's life). */
  botForToken(token: string): StandinUser {
    const clean = token.replace(/^(Bot|Bearer)\s+/i, '');
    let bot = this.#botsByToken.get(clean);
    if (!bot) {
      const tag = createHash('sha256').update(clean).digest('hex').slice(0, 6);
      bot = { id: this.#ids.next(), username: `standin-bot-${tag}`, bot: true };
      this.#botsByToken.set(clean, bot);
      this.users.set(bot.id, bot);
      this.emit('memberAdd', bot);
    }
    return bot;
  }

  addSpeaker(name: string): StandinUser {
    const user: StandinUser = { id: this.#ids.next(), username: name, bot: false };
    this.users.set(user.id, user);
    this.emit('memberAdd', user);
    return user;
  }

  /** Sets a user's voice channel (null = left) and announces the new state. */
  setVoiceChannel(userId: string, channelId: string | null, sessionId: string, flags: { selfMute?: boolean; selfDeaf?: boolean } = {}): StandinVoiceState {
    const state: StandinVoiceState = {
      user_id: userId,
      guild_id: this.guildId,
      channel_id: channelId,
      session_id: sessionId,
      deaf: false,
      mute: false,
      self_deaf: flags.selfDeaf ?? false,
      self_mute: flags.selfMute ?? false,
      self_video: false,
      suppress: false,
      request_to_speak_timestamp: null,
    };
    if (channelId === null) this.voiceStates.delete(userId);
    else this.voiceStates.set(userId, state);
    this.emit('voiceStateUpdate', state);
    return state;
  }

  /** User ids currently in the voice channel. */
  usersInVoice(): string[] {
    return [...this.voiceStates.values()].filter((s) => s.channel_id === this.voiceChannelId).map((s) => s.user_id);
  }

  userPayload(user: StandinUser): Record<string, unknown> {
    return {
      id: user.id,
      username: user.username,
      discriminator: '0',
      global_name: user.username,
      avatar: null,
      bot: user.bot,
      flags: 0,
      public_flags: 0,
    };
  }

  memberPayload(user: StandinUser): Record<string, unknown> {
    return {
      user: this.userPayload(user),
      nick: null,
      avatar: null,
      roles: [],
      joined_at: this.createdAt,
      premium_since: null,
      deaf: false,
      mute: false,
      flags: 0,
      pending: false,
    };
  }

  voiceStatePayload(state: StandinVoiceState): Record<string, unknown> {
    const user = this.users.get(state.user_id);
    return { ...state, member: user ? this.memberPayload(user) : undefined };
  }

  channelsPayload(): Record<string, unknown>[] {
    const base = { guild_id: this.guildId, permission_overwrites: [], parent_id: null, nsfw: false };
    return [
      { ...base, id: this.textChannelId, type: 0, name: 'general', position: 0, topic: null, last_message_id: null, rate_limit_per_user: 0 },
      { ...base, id: this.voiceChannelId, type: 2, name: this.channelName, position: 1, bitrate: 64_000, user_limit: 0, rtc_region: null, video_quality_mode: 1 },
    ];
  }

  guildPayload(): Record<string, unknown> {
    const members = [...this.users.values()].map((u) => this.memberPayload(u));
    return {
      id: this.guildId,
      name: this.guildName,
      icon: null,
      splash: null,
      discovery_splash: null,
      owner_id: this.ownerId,
      afk_channel_id: null,
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      roles: [
        { id: this.guildId, name: '@everyone', color: 0, colors: { primary_color: 0, secondary_color: null, tertiary_color: null }, hoist: false, icon: null, unicode_emoji: null, position: 0, permissions: '1071698660929', managed: false, mentionable: false, flags: 0 },
      ],
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: 0,
      application_id: null,
      system_channel_id: null,
      system_channel_flags: 0,
      rules_channel_id: null,
      max_members: 500_000,
      vanity_url_code: null,
      description: null,
      banner: null,
      premium_tier: 0,
      premium_subscription_count: 0,
      preferred_locale: 'en-US',
      public_updates_channel_id: null,
      nsfw_level: 0,
      premium_progress_bar_enabled: false,
      safety_alerts_channel_id: null,
      joined_at: this.createdAt,
      large: false,
      unavailable: false,
      member_count: members.length,
      members,
      channels: this.channelsPayload(),
      threads: [],
      presences: [],
      voice_states: [...this.voiceStates.values()].map(({ guild_id: _g, ...rest }) => rest),
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }
}
