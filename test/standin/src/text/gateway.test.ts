import { Client, Events, GatewayIntentBits } from 'discord.js';
import type { Message } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandin } from '../standin.ts';
import type { Standin } from '../standin.ts';

let standin: Standin;
beforeAll(async () => {
  standin = await startStandin();
});
afterAll(async () => {
  await standin?.close();
});

async function login(token: string, intents: number[]): Promise<Client> {
  const client = new Client({ intents, rest: { api: standin.restApi } });
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await client.login(token);
  await ready;
  return client;
}

function until<T>(client: Client, event: 'messageCreate', pred: (m: Message) => boolean): Promise<Message> {
  return new Promise<T & Message>((resolve) => {
    const on = (m: Message) => {
      if (!pred(m)) return;
      client.off(event, on);
      resolve(m as T & Message);
    };
    client.on(event, on);
  });
}

const ALL = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent];

describe('stand-in text over the gateway (discord.js)', () => {
  it('dispatches MESSAGE_CREATE with content to a bot with MESSAGE_CONTENT, and empty content without it', async () => {
    const full = await login('gw-full', ALL);
    const gated = await login('gw-gated', [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages]);
    try {
      const a = until(full, 'messageCreate', (m) => m.content === 'hello text world');
      const b = until(gated, 'messageCreate', (m) => m.channelId === standin.textChannelId && m.author.username === 'dana');
      standin.text.post(standin.textChannelId, { content: 'hello text world', authorId: standin.text.author('dana') });
      expect((await a).author.username).toBe('dana');
      expect((await b).content).toBe('');
      // A message that pings the gated bot is exempt, as on Discord.
      const c = until(gated, 'messageCreate', (m) => m.mentions.users.has(gated.user!.id));
      standin.text.post(standin.textChannelId, { content: `hey <@${gated.user!.id}>`, authorId: standin.text.author('dana') });
      expect((await c).content).toBe(`hey <@${gated.user!.id}>`);
    } finally {
      await full.destroy();
      await gated.destroy();
    }
  });

  it('dispatches thread and forum-post messages, edits, deletes and bulk deletes', async () => {
    const client = await login('gw-threads', ALL);
    try {
      const parent = standin.text.createTextChannel('dev');
      const threadCreated = new Promise<string>((resolve) => client.once(Events.ThreadCreate, (t) => resolve(t.id)));
      const thread = standin.text.createThread(parent.id, 'design');
      expect(await threadCreated).toBe(thread.id);
      const inThread = until(client, 'messageCreate', (m) => m.channelId === thread.id);
      standin.text.post(thread.id, { content: 'in a thread' });
      const m = await inThread;
      expect(m.channel.isThread()).toBe(true);
      const forum = standin.text.createForum('ideas');
      const post = until(client, 'messageCreate', (x) => x.content === 'first post');
      const created = standin.text.createForumPost(forum.id, 'Idea 1', 'first post');
      const got = await post;
      expect(got.id).toBe(created.thread.id);
      expect(got.channel.isThread() && got.channel.parentId).toBe(forum.id);

      const raw: { t: string; d: Record<string, unknown> }[] = [];
      client.on(Events.Raw, (p: { t: string; d: Record<string, unknown> }) => raw.push(p));
      const one = standin.text.post(thread.id, { content: 'to edit' });
      const two = standin.text.post(thread.id, { content: 'b1' });
      const three = standin.text.post(thread.id, { content: 'b2' });
      standin.text.edit(thread.id, one.id, 'edited');
      standin.text.delete(thread.id, one.id);
      standin.text.bulkDelete(thread.id, [two.id, three.id]);
      await new Promise<void>((resolve) => {
        const check = () => (raw.some((p) => p.t === 'MESSAGE_DELETE_BULK') ? resolve() : setTimeout(check, 10));
        check();
      });
      const types = raw.map((p) => p.t).filter((t) => t.startsWith('MESSAGE_'));
      expect(types).toEqual(['MESSAGE_CREATE', 'MESSAGE_CREATE', 'MESSAGE_CREATE', 'MESSAGE_UPDATE', 'MESSAGE_DELETE', 'MESSAGE_DELETE_BULK']);
      expect(raw.find((p) => p.t === 'MESSAGE_UPDATE')!.d.content).toBe('edited');
      expect(raw.find((p) => p.t === 'MESSAGE_DELETE_BULK')!.d.ids).toEqual([two.id, three.id]);
    } finally {
      await client.destroy();
    }
  });

  it('replays the dispatches a dropped session missed when discord.js resumes, without duplicates', async () => {
    const client = await login('gw-resume', ALL);
    try {
      const seen: string[] = [];
      client.on(Events.MessageCreate, (m) => {
        if (m.content.startsWith('while-down-')) seen.push(m.content);
      });
      const session = standin.gateway.sessions().find((s) => s.user?.id === client.user!.id)!;
      const resumed = new Promise<void>((resolve) => client.once(Events.ShardResume, () => resolve()));
      const resumesBefore = standin.gateway.gateway.counters.resumes;
      session.drop();
      for (let i = 0; i < 5; i++) standin.text.post(standin.textChannelId, { content: `while-down-${i}` });
      await resumed;
      while (seen.length < 5) await new Promise((r) => setTimeout(r, 10));
      standin.text.post(standin.textChannelId, { content: 'while-down-after' });
      while (seen.length < 6) await new Promise((r) => setTimeout(r, 10));
      expect(seen).toEqual(['while-down-0', 'while-down-1', 'while-down-2', 'while-down-3', 'while-down-4', 'while-down-after']);
      expect(standin.gateway.gateway.counters.resumes).toBe(resumesBefore + 1);
    } finally {
      await client.destroy();
    }
  });

  it('closes Identify with 4014 when MESSAGE_CONTENT is asked for but not enabled for the application', async () => {
    standin.text.options.messageContentIntent = false;
    const client = new Client({ intents: ALL, rest: { api: standin.restApi } });
    try {
      const error = await client.login('gw-disallowed').then(() => undefined, (e: unknown) => e as Error);
      expect(error).toBeInstanceOf(Error);
      expect(String((error as Error).message)).toMatch(/disallowed intent/i);
    } finally {
      standin.text.options.messageContentIntent = true;
      await client.destroy();
    }
  });
});
