/**
 * The discord-gateway agent: listens to its discord.js client's raw dispatches, drops duplicates and
 * counts gaps by sequence number (a resume replays what was missed), applies the tenant's guild and
 * channel allow-list (a thread or forum post is allowed when it or its parent channel is), and
 * publishes the raw `events.MESSAGE_CREATE | UPDATE | DELETE | DELETE_BULK` (Discord's `d`, plus
 * `shard`, `seq`, and `thread_id` / `parent_id` for thread messages) and the normalized
 * `events.SocialMessageCreated`. Health counters carry shard, seq, ping, lost and duplicates.
 */
import { Events } from 'discord.js';
import type { Client } from 'discord.js';
import type { AgentRuntime } from '@promethean/shared/node';
import { isRawMessage, toSocialMessage } from './normalize.ts';
import { SequenceTracker } from './sequence.ts';

export interface DiscordGatewayAgentOptions {
  provider: string;
  tenant: string;
  /** The tenant's allow-list (providers.yml `allow`). */
  allows: (where: { guild_id: string; channel_id?: string }) => boolean;
  /** Message ids remembered to drop a MESSAGE_CREATE seen twice across sessions. */
  recentIds: number;
}

const MESSAGE_EVENTS = new Set(['MESSAGE_CREATE', 'MESSAGE_UPDATE', 'MESSAGE_DELETE', 'MESSAGE_DELETE_BULK']);

interface RawPacket {
  t?: string | null;
  s?: number | null;
  d?: unknown;
}

export class DiscordGatewayAgent {
  readonly options: DiscordGatewayAgentOptions;
  readonly sequence = new SequenceTracker();
  readonly #runtime: AgentRuntime;
  readonly #client: Client;
  readonly #recent = new Set<string>();
  #ping: ReturnType<typeof setInterval> | undefined;
  readonly #onRaw = (packet: RawPacket, shardId: number) => this.#raw(packet, shardId);
  readonly #onResume = () => this.#runtime.count('gateway.resumes');
  readonly #onReconnecting = () => this.#runtime.count('gateway.reconnects');

  constructor(runtime: AgentRuntime, client: Client, options: Partial<DiscordGatewayAgentOptions> & Pick<DiscordGatewayAgentOptions, 'tenant' | 'allows'>) {
    this.options = { provider: 'discord', recentIds: 10_000, ...options };
    this.#runtime = runtime;
    this.#client = client;
  }

  start(): void {
    this.#client.on(Events.Raw, this.#onRaw);
    this.#client.on(Events.ShardResume, this.#onResume);
    this.#client.on(Events.ShardReconnecting, this.#onReconnecting);
    this.#ping = setInterval(() => (this.#runtime.counters['gateway.ping_ms'] = this.#client.ws.ping), 1000);
    this.#ping.unref();
  }

  stop(): void {
    this.#client.off(Events.Raw, this.#onRaw);
    this.#client.off(Events.ShardResume, this.#onResume);
    this.#client.off(Events.ShardReconnecting, this.#onReconnecting);
    if (this.#ping) clearInterval(this.#ping);
  }

  #raw(packet: RawPacket, shardId: number): void {
    const c = this.#runtime.counters;
    if (!this.sequence.accept(packet.s, packet.t)) {
      c['gateway.duplicates'] = this.sequence.duplicates;
      return;
    }
    c['gateway.shard'] = shardId;
    c['gateway.seq'] = this.sequence.seq;
    c['gateway.lost'] = this.sequence.lost;
    c['gateway.duplicates'] = this.sequence.duplicates;
    c['gateway.ping_ms'] = this.#client.ws.ping;
    const t = packet.t;
    if (!t || !MESSAGE_EVENTS.has(t)) return;
    try {
      this.#message(t, packet.d, shardId, packet.s ?? 0);
    } catch (error) {
      // A malformed dispatch is counted, never a crash.
      this.#runtime.count('gateway.bad_dispatch');
      this.#runtime.log.warn({ intent: `events.${t}`, err: (error as Error).message }, 'dispatch not published');
    }
  }

  #message(t: string, d: unknown, shard: number, seq: number): void {
    const { provider, tenant } = this.options;
    const data = d as { channel_id?: unknown; guild_id?: unknown; id?: unknown } | null;
    if (typeof data !== 'object' || data === null || typeof data.channel_id !== 'string') {
      this.#runtime.count('gateway.bad_dispatch');
      return;
    }
    const channel = this.#client.channels.cache.get(data.channel_id);
    const parentId = channel?.isThread() ? channel.parentId : null;
    const guild = typeof data.guild_id === 'string' ? data.guild_id : undefined;
    const allowed = guild !== undefined && (this.options.allows({ guild_id: guild, channel_id: data.channel_id }) || (parentId !== null && this.options.allows({ guild_id: guild, channel_id: parentId })));
    if (!allowed) {
      this.#runtime.count('gateway.filtered');
      return;
    }
    if (t === 'MESSAGE_CREATE' && typeof data.id === 'string') {
      if (this.#recent.has(data.id)) {
        this.#runtime.count('gateway.duplicate_messages');
        return;
      }
      this.#recent.add(data.id);
      if (this.#recent.size > this.options.recentIds) this.#recent.delete(this.#recent.values().next().value as string);
    }
    const inThread = channel?.isThread() === true;
    const raw = { ...(data as Record<string, unknown>), shard, seq, ...(inThread ? { thread_id: data.channel_id, parent_id: parentId } : {}) };
    this.#runtime.publish(`events.${t}`, raw, { provider, tenant });
    if (t === 'MESSAGE_CREATE' && isRawMessage(data)) {
      this.#runtime.publish('events.SocialMessageCreated', toSocialMessage(provider, tenant, data, inThread), { provider, tenant });
    }
  }
}
