import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SocialMessageCreated } from '@promethean/shared';
import { startStandin, type Standin } from '@promethean/standin';
import { toSocialMessage } from '../../access/discord-gateway/normalize.ts';
import { mentionOf, nameMatcher, readableText, viewOf } from './mention.ts';

let standin: Standin;
let botId: string;

beforeAll(async () => {
  standin = await startStandin();
  botId = standin.world.botForToken('cephalon-mention-test-token').id;
});
afterAll(async () => {
  await standin?.close();
});

/** What the gateway agent publishes for a message posted in the stand-in (Discord's gateway payload, normalized). */
function published(content: string, author = 'dana') {
  const m = standin.text.post(standin.textChannelId, { content, authorId: standin.text.author(author) });
  const raw = standin.text.view(m, botId, { contentIntent: true, gateway: true }) as Parameters<typeof toSocialMessage>[2];
  return { id: m.id, social: SocialMessageCreated.parse(toSocialMessage('discord', 'demo', raw, false)) };
}

describe('mention detection on SocialMessageCreated', () => {
  it('a ping of the bot is found in the payload mentions; names and ids come from the payload', () => {
    const { id, social } = published(`<@${botId}> what is the build status?`);
    const view = viewOf(social);
    expect(view).toMatchObject({ provider: 'discord', tenant: 'demo', messageId: id, channelId: standin.textChannelId, guildId: standin.guildId, parentId: null });
    expect(view.author).toMatchObject({ id: standin.text.author('dana'), bot: false, name: 'Dana' });
    expect(view.mentions.map((u) => u.id)).toEqual([botId]);
    expect(view.mentions[0]!.bot).toBe(true);
    expect(mentionOf(view, botId, undefined)).toBe('ping');
    expect(readableText(view.text, view.mentions, botId)).toBe('what is the build status?');
  });

  it('a message without the bot is not a mention; another user mention reads as @name', () => {
    const alice = standin.text.author('alice');
    const { social } = published(`hey <@${alice}> lunch?`);
    const view = viewOf(social);
    expect(mentionOf(view, botId, nameMatcher(['promethean']))).toBeUndefined();
    expect(readableText(view.text, view.mentions, botId)).toBe('hey @Alice lunch?');
  });

  it('a configured name counts as a mention as a whole word, any case, with or without @', () => {
    const names = nameMatcher(['promethean', 'the bot']);
    const kind = (text: string) => mentionOf({ ...viewOf(published(text).social), mentions: [] }, botId, names);
    expect(kind('Promethean, summarise this thread')).toBe('name');
    expect(kind('ask @promethean about it')).toBe('name');
    expect(kind('what does THE BOT think?')).toBe('name');
    expect(kind('prometheanism is a word now')).toBeUndefined();
    expect(kind('unpromethean')).toBeUndefined();
    expect(nameMatcher([])).toBeUndefined();
  });

  it('a raw <@id> in the text counts when the payload lists no mentions (content-only providers)', () => {
    const view = { ...viewOf(published(`<@!${botId}> hello`).social), mentions: [] };
    expect(mentionOf(view, botId, undefined)).toBe('text');
    expect(mentionOf(view, undefined, undefined)).toBeUndefined();
    expect(readableText(view.text, [], botId)).toBe('hello');
  });

  it('reads a payload without provider fields (another provider) with URN ids and no names', () => {
    const view = viewOf({
      message_id: 'urn:slack:message:acme:m1', author_urn: 'urn:slack:user:acme:u1', space_urn: 'urn:slack:channel:acme:c1', text: 'hi',
      attachments: [], created_at: '2026-01-01T00:00:00.000Z', provider: 'slack', tenant: 'acme', provider_payload: 'not an object',
    });
    expect(view).toMatchObject({ messageId: 'm1', channelId: 'c1', guildId: null, author: { id: 'u1', name: 'u1', bot: false }, mentions: [] });
  });
});
