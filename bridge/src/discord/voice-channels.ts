/**
 * Publishes each guild's voice channels and where the bot is (`voice.channels`), from the discord.js
 * cache (the Guilds intent carries channels): when the client is ready, when channels or the bot's
 * voice state change, and every 30 s so a restarted server catches up.
 */
import { ChannelType, Events, type Client } from 'discord.js';
import type { PayloadOf } from '@promethean/shared';

export interface VoiceChannelsOptions {
  intervalMs: number;
  /** Whether the tenant's allow-list admits a channel. */
  allows: (guildId: string, channelId: string) => boolean;
}

export class VoiceChannelsPublisher {
  readonly #client: Client;
  readonly #publish: (p: PayloadOf<'voice.channels'>) => void;
  readonly #options: VoiceChannelsOptions;
  readonly #timer: NodeJS.Timeout;
  readonly #onChange = (): void => this.publishAll();
  readonly #onVoice = (_old: unknown, state: { id: string }): void => {
    if (state.id === this.#client.user?.id) this.publishAll();
  };

  constructor(client: Client, publish: (p: PayloadOf<'voice.channels'>) => void, options: VoiceChannelsOptions) {
    this.#client = client;
    this.#publish = publish;
    this.#options = options;
    client.on(Events.ChannelCreate, this.#onChange);
    client.on(Events.ChannelDelete, this.#onChange);
    client.on(Events.ChannelUpdate, this.#onChange);
    client.on(Events.VoiceStateUpdate, this.#onVoice);
    this.#timer = setInterval(() => this.publishAll(), options.intervalMs);
    this.#timer.unref();
    this.publishAll();
  }

  publishAll(): void {
    const me = this.#client.user?.id;
    for (const guild of this.#client.guilds.cache.values()) {
      const channels = [...guild.channels.cache.values()]
        .filter((c) => c.type === ChannelType.GuildVoice || c.type === ChannelType.GuildStageVoice)
        .slice(0, 500)
        .map((c) => ({ channel_id: c.id, name: c.name.slice(0, 200) || c.id, allowed: this.#options.allows(guild.id, c.id) }));
      const bot = me ? guild.voiceStates.cache.get(me)?.channelId ?? null : null;
      try {
        this.#publish({ guild_id: guild.id, ...(guild.name ? { guild_name: guild.name.slice(0, 200) } : {}), bot_channel_id: bot, channels });
      } catch {
        // the bus is closed: the next tick tries again
      }
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#client.off(Events.ChannelCreate, this.#onChange);
    this.#client.off(Events.ChannelDelete, this.#onChange);
    this.#client.off(Events.ChannelUpdate, this.#onChange);
    this.#client.off(Events.VoiceStateUpdate, this.#onVoice);
  }
}
