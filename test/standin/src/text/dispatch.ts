/**
 * Text events to gateway dispatches: MESSAGE_CREATE / MESSAGE_UPDATE (GUILD_MESSAGES intent; content,
 * attachments and embeds empty without MESSAGE_CONTENT unless the bot wrote the message or is pinged
 * in it, as Discord does), MESSAGE_DELETE / MESSAGE_DELETE_BULK (GUILD_MESSAGES), THREAD_CREATE and
 * CHANNEL_CREATE (GUILDS). Sessions whose socket dropped keep receiving for a while, so a Resume can
 * replay what they missed.
 */
import { Intent } from '../gateway/session.ts';
import type { StandinUser } from '../world.ts';
import type { StandinText } from './text.ts';
import type { TextMessage } from './store.ts';

export interface DispatchTarget {
  readonly user: StandinUser | undefined;
  /** Identified, and open or recently dropped. */
  readonly receiving: boolean;
  has(intent: number): boolean;
  dispatch(t: string, d: unknown): void;
}

/** Wires `text`'s events to `targets()`; returns a function that unwires them. */
export function wireTextDispatch(text: StandinText, targets: () => Iterable<DispatchTarget>): () => void {
  const guildId = text.store.guildId;
  const each = (intent: number, send: (s: DispatchTarget & { user: StandinUser }) => void) => {
    for (const s of targets()) if (s.receiving && s.user && s.has(intent)) send(s as DispatchTarget & { user: StandinUser });
  };
  const message = (t: string) => (m: TextMessage) =>
    each(Intent.GuildMessages, (s) => s.dispatch(t, text.view(m, s.user.id, { contentIntent: s.has(Intent.MessageContent), gateway: true })));
  const onCreate = message('MESSAGE_CREATE');
  const onUpdate = message('MESSAGE_UPDATE');
  const onDelete = (m: TextMessage) => each(Intent.GuildMessages, (s) => s.dispatch('MESSAGE_DELETE', { id: m.id, channel_id: m.channelId, guild_id: guildId }));
  const onBulk = (channelId: string, ids: string[]) => each(Intent.GuildMessages, (s) => s.dispatch('MESSAGE_DELETE_BULK', { ids, channel_id: channelId, guild_id: guildId }));
  const onThread = (c: Parameters<StandinText['channelPayload']>[0]) => each(Intent.Guilds, (s) => s.dispatch('THREAD_CREATE', { ...text.channelPayload(c), newly_created: true }));
  const onChannel = (c: Parameters<StandinText['channelPayload']>[0]) => each(Intent.Guilds, (s) => s.dispatch('CHANNEL_CREATE', text.channelPayload(c)));
  text.store.on('messageCreate', onCreate);
  text.store.on('messageUpdate', onUpdate);
  text.store.on('messageDelete', onDelete);
  text.store.on('messageDeleteBulk', onBulk);
  text.store.on('threadCreate', onThread);
  text.store.on('channelCreate', onChannel);
  return () => {
    text.store.off('messageCreate', onCreate);
    text.store.off('messageUpdate', onUpdate);
    text.store.off('messageDelete', onDelete);
    text.store.off('messageDeleteBulk', onBulk);
    text.store.off('threadCreate', onThread);
    text.store.off('channelCreate', onChannel);
  };
}
