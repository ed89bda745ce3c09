/**
 * {@link PresenceSink} over the discord.js Client: the text becomes a custom status (activity type 4,
 * sent as gateway op 3). A fresh Identify after a lost session starts from the client's initial
 * presence, so the current text is sent again on every shard READY.
 */
import { ActivityType, Events, type Client } from 'discord.js';
import type { PresenceSink } from '../presence/listener-announcer.ts';

export class DiscordPresence implements PresenceSink {
  readonly #client: Client;
  #text: string | null = null;
  /** Updates that could not be sent (the client was logging out); the next READY sends the text again. */
  failures = 0;

  constructor(client: Client) {
    this.#client = client;
    client.on(Events.ShardReady, this.#onReady);
  }

  setActivity(text: string | null): void {
    this.#text = text;
    this.#apply();
  }

  close(): void {
    this.#client.off(Events.ShardReady, this.#onReady);
  }

  #onReady = (): void => {
    if (this.#text !== null) this.#apply();
  };

  #apply(): void {
    const user = this.#client.user;
    if (!user) return;
    const text = this.#text;
    try {
      user.setPresence({ status: 'online', activities: text === null ? [] : [{ type: ActivityType.Custom, name: 'Custom Status', state: text }] });
    } catch {
      this.failures++;
    }
  }
}
