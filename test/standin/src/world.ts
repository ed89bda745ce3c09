/**
 * The stand-in's Discord state: one guild with one voice channel (and a text channel), the bots that
 * log in and the simulated speakers as members (username, global name, nickname, avatar hashes), and
 * everyone's voice state. Gateway and voice server both read it; changes are announced as events.
 */
import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import { InvalidStateError } from '@promethean/shared';
import { SnowflakeGenerator } from './util/snowflake.ts';

export interface StandinUser {
  id: string;
  username: string;
  /** The user's display name (`global_name`); null shows the username. For bots, the application's name. */
  globalName: string | null;
  /** Avatar hash (served at `/avatars/{id}/{hash}.png`); null = Discord's default avatar. */
  avatar: string | null;
  bot: boolean;
}

/** Guild-specific member fields. */
export interface StandinMember {
  /** Guild nickname (null = none). */
  nick: string | null;
  /** Guild avatar hash (served at `/guilds/{guild}/users/{id}/avatars/{hash}.png`); null = none. */
  avatar: string | null;
}

/** How a simulated speaker looks. */
export interface SpeakerProfile {
  /** Global display name; default: the name with its first letter upper-cased ("alice" → "Alice"). */
  displayName?: string | null;
  /** Guild nickname; default none. */
  nick?: string | null;
  /** Give the user an avatar (default true); false shows Discord's default avatar. */
  avatar?: boolean;
  /** Give the member a guild-specific avatar too (default false). */
  guildAvatar?: boolean;
}

/** Voice flags a test can set; the server-side ones are what a moderator would set. */
export interface VoiceFlags {
  selfMute?: boolean;
  selfDeaf?: boolean;
  /** Server mute. */
  mute?: boolean;
  /** Server deafen. */
  deaf?: boolean;
}

/** A deterministic 32-hex-digit hash, shaped like Discord's avatar hashes. */
export function avatarHash(...parts: string[]): string {
  return createHash('md5').update(parts.join(':')).digest('hex');
}

/** "alice" → "Alice", "dj_bob" → "Dj bob". */
export function displayNameOf(name: string): string {
  const spaced = name.replace(/[_-]+/g, ' ').trim() || name;
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
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
  /** Guild member fields by user id (everyone in `users` is a member). */
  readonly members = new Map<string, StandinMember>();
  readonly voiceStates = new Map<string, StandinVoiceState>();
  /**
   * Makes joins to the voice channel fail as Discord refuses them: `no_connect_permission` (@everyone
   * is denied CONNECT on the channel) or `channel_full` (user limit 1, taken by a listener). The
   * channel payload says so (read by clients at GUILD_CREATE: set it before they log in) and a bot's
   * op 4 join gets no answer, as on Discord. Undefined: joins work.
   */
  voiceJoinRefusal: 'no_connect_permission' | 'channel_full' | undefined = undefined;
  /** Extra guild channels (the text world adds its channels here). */
  readonly channelSources: (() => Record<string, unknown>[])[] = [];
  /** Active threads listed in GUILD_CREATE. */
  readonly threadSources: (() => Record<string, unknown>[])[] = [];
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
    this.#addUser({ id: this.ownerId, username: 'standin-owner', globalName: 'Stand-in Owner', avatar: avatarHash(this.ownerId, 'standin-owner'), bot: false }, { nick: null, avatar: null });
  }

  #addUser(user: StandinUser, member: StandinMember): void {
    this.users.set(user.id, user);
    this.members.set(user.id, member);
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
      const id = this.#ids.next();
      bot = { id, username: `standin-bot-${tag}`, globalName: `Stand-in Bot ${tag}`, avatar: avatarHash(id, tag), bot: true };
      this.#botsByToken.set(clean, bot);
      this.#addUser(bot, { nick: null, avatar: null });
      this.emit('memberAdd', bot);
    }
    return bot;
  }

  /**
   * A simulated speaker's user and guild member. A name seen before (a speaker who left and comes back)
   * is the same user, with its profile updated; a new name is a new member (GUILD_MEMBER_ADD).
   */
  addSpeaker(name: string, profile: SpeakerProfile = {}): StandinUser {
    const known = [...this.users.values()].find((u) => !u.bot && u.username === name && u.id !== this.ownerId);
    const id = known?.id ?? this.#ids.next();
    const user: StandinUser = {
      id,
      username: name,
      globalName: profile.displayName === undefined ? displayNameOf(name) : profile.displayName,
      avatar: profile.avatar === false ? null : avatarHash(id, name),
      bot: false,
    };
    this.#addUser(user, { nick: profile.nick ?? null, avatar: profile.guildAvatar ? avatarHash(this.guildId, id, name) : null });
    if (!known) this.emit('memberAdd', user);
    return user;
  }

  /** Sets a user's voice channel (null = left) and announces the new state. */
  setVoiceChannel(userId: string, channelId: string | null, sessionId: string, flags: VoiceFlags = {}): StandinVoiceState {
    const state: StandinVoiceState = {
      user_id: userId,
      guild_id: this.guildId,
      channel_id: channelId,
      session_id: sessionId,
      deaf: flags.deaf ?? false,
      mute: flags.mute ?? false,
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

  /** Changes the mute/deafen flags of a user who is in a voice channel and announces the new state. */
  setVoiceFlags(userId: string, flags: VoiceFlags): StandinVoiceState {
    const old = this.voiceStates.get(userId);
    if (!old || old.channel_id === null) throw new InvalidStateError(`user ${userId} is not in a voice channel`);
    const state: StandinVoiceState = {
      ...old,
      self_mute: flags.selfMute ?? old.self_mute,
      self_deaf: flags.selfDeaf ?? old.self_deaf,
      mute: flags.mute ?? old.mute,
      deaf: flags.deaf ?? old.deaf,
    };
    this.voiceStates.set(userId, state);
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
      global_name: user.globalName,
      avatar: user.avatar,
      bot: user.bot,
      flags: 0,
      public_flags: 0,
    };
  }

  memberPayload(user: StandinUser): Record<string, unknown> {
    const member = this.members.get(user.id);
    const voice = this.voiceStates.get(user.id);
    return {
      user: this.userPayload(user),
      nick: member?.nick ?? null,
      avatar: member?.avatar ?? null,
      banner: null,
      roles: [],
      joined_at: this.createdAt,
      premium_since: null,
      deaf: voice?.deaf ?? false,
      mute: voice?.mute ?? false,
      flags: 0,
      pending: false,
    };
  }

  voiceStatePayload(state: StandinVoiceState): Record<string, unknown> {
    const user = this.users.get(state.user_id);
    return { ...state, member: user ? this.memberPayload(user) : undefined };
  }

  /** The voice channel's user limit and overwrites under {@link voiceJoinRefusal}. */
  #voiceRefusalFields(): Record<string, unknown> {
    if (this.voiceJoinRefusal === 'no_connect_permission') {
      // deny CONNECT (1 << 20) to @everyone (the role whose id is the guild's)
      return { user_limit: 0, permission_overwrites: [{ id: this.guildId, type: 0, allow: '0', deny: String(1 << 20) }] };
    }
    if (this.voiceJoinRefusal === 'channel_full') return { user_limit: Math.max(1, [...this.voiceStates.values()].filter((v) => v.channel_id === this.voiceChannelId).length) };
    return { user_limit: 0 };
  }

  channelsPayload(): Record<string, unknown>[] {
    const base = { guild_id: this.guildId, permission_overwrites: [], parent_id: null, nsfw: false };
    return [
      { ...base, id: this.textChannelId, type: 0, name: 'general', position: 0, topic: null, last_message_id: null, rate_limit_per_user: 0 },
      { ...base, ...this.#voiceRefusalFields(), id: this.voiceChannelId, type: 2, name: this.channelName, position: 1, bitrate: 64_000, rtc_region: null, video_quality_mode: 1 },
      ...this.channelSources.flatMap((source) => source()),
    ];
  }

  /**
   * GUILD_CREATE's data. Without the privileged GUILD_MEMBERS intent Discord sends only the member
   * itself and the members in voice channels; `forUser` and `allMembers` say which applies.
   */
  guildPayload(view: { forUser?: string; allMembers?: boolean } = { allMembers: true }): Record<string, unknown> {
    const inVoice = new Set(this.voiceStates.keys());
    const members = [...this.users.values()].filter((u) => view.allMembers || u.id === view.forUser || inVoice.has(u.id)).map((u) => this.memberPayload(u));
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
      member_count: this.users.size,
      members,
      channels: this.channelsPayload(),
      threads: this.threadSources.flatMap((source) => source()),
      presences: [],
      // Voice states lack guild_id here; each carries its member, as VOICE_STATE_UPDATE does.
      voice_states: [...this.voiceStates.values()].map(({ guild_id: _g, ...rest }) => {
        const user = this.users.get(rest.user_id);
        return user ? { ...rest, member: this.memberPayload(user) } : rest;
      }),
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }
}
