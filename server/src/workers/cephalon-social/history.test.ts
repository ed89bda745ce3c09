import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REST } from '@discordjs/rest';
import { startStandin, type Standin } from '@promethean/standin';
import { SeenMessages, linesFromDiscordPage } from './history.ts';
import type { MessageView } from './mention.ts';

let standin: Standin;

beforeAll(async () => {
  standin = await startStandin();
});
afterAll(async () => {
  await standin?.close();
});

const view = (id: string, channelId: string, authorId: string, text: string, tenant = 'demo'): MessageView => ({
  provider: 'discord', tenant, messageId: id, channelId, parentId: null, guildId: '1', author: { id: authorId, name: `n${authorId}`, bot: false }, mentions: [], text, createdAt: '2026-01-01T00:00:00.000Z',
});

describe('thread history', () => {
  it('linesFromDiscordPage() turns a real history page (newest first) into lines oldest first, the bot as fromBot', async () => {
    const token = 'cephalon-history-test-token';
    const bot = standin.world.botForToken(token).id;
    const channel = standin.text.createTextChannel('history');
    standin.text.post(channel.id, { content: 'first', authorId: standin.text.author('alice') });
    standin.text.post(channel.id, { content: 'second', authorId: bot });
    const mention = standin.text.post(channel.id, { content: 'third', authorId: standin.text.author('bob') });
    const rest = new REST({ api: standin.restApi }).setToken(token);
    const page = await rest.get(`/channels/${channel.id}/messages`, { query: new URLSearchParams({ before: mention.id, limit: '10' }) });
    expect(linesFromDiscordPage(page, bot)).toEqual([
      { id: expect.any(String), author: 'Alice', fromBot: false, text: 'first' },
      { id: expect.any(String), author: expect.stringContaining('Stand-in Bot'), fromBot: true, text: 'second' },
    ]);
    expect(() => linesFromDiscordPage({ not: 'a page' }, bot)).toThrow(/not an array/);
    expect(linesFromDiscordPage([null, 1, { id: '5' }, { id: '6', content: 'ok' }], bot)).toEqual([{ id: '6', author: 'unknown', fromBot: false, text: 'ok' }]);
  });

  it('SeenMessages keeps what was seen per channel, before the mention, bounded per channel and in channels', async () => {
    const seen = new SeenMessages({ maxChannels: 2, perChannel: 3 });
    for (let i = 1; i <= 5; i++) seen.add(view(String(i), 'c1', i === 2 ? 'bot' : 'u', `m${i}`));
    const lines = await seen.recent(view('5', 'c1', 'u', 'm5'), 10, 'bot');
    expect(lines.map((l) => l.text)).toEqual(['m3', 'm4']);
    expect((await seen.recent(view('99', 'c1', 'u', ''), 2, 'bot')).map((l) => l.text)).toEqual(['m4', 'm5']);
    seen.add(view('6', 'c2', 'u', 'x'));
    seen.add(view('7', 'c1', 'u', 'y'));
    seen.add(view('8', 'c3', 'u', 'z'));
    expect(seen.channels).toBe(2);
    expect(await seen.recent(view('9', 'c2', 'u', ''), 10, undefined)).toEqual([]);
    expect((await seen.recent(view('9', 'c1', 'u', ''), 10, undefined)).map((l) => l.text)).toEqual(['m4', 'm5', 'y']);
    expect(await seen.recent(view('9', 'c1', 'u', '', 'other-tenant'), 10, undefined)).toEqual([]);
  });
});
