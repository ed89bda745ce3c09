/**
 * Names and faces on the main gateway: member objects (username, global name, nickname, avatars) in
 * GUILD_CREATE and VOICE_STATE_UPDATE, what the GUILD_MEMBERS intent changes, speakers leaving,
 * joining and muting during a run, and op 3 presence updates recorded for tests.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startStandin } from '../src/standin.ts';
import type { Standin } from '../src/standin.ts';
import type { PresenceRecord } from '../src/gateway/presence.ts';

type Msg = { op: number; t?: string; s?: number; d: Record<string, unknown> };
type Member = { user: { id: string; username: string; global_name: string | null; avatar: string | null; bot: boolean }; nick: string | null; avatar: string | null; mute: boolean; deaf: boolean };
type VoiceState = { user_id: string; channel_id: string | null; self_mute: boolean; self_deaf: boolean; mute: boolean; deaf: boolean; member?: Member };

const GUILDS = 1 << 0;
const GUILD_MEMBERS = 1 << 1;
const GUILD_VOICE_STATES = 1 << 7;
const GUILD_PRESENCES = 1 << 8;
const audio = { sampleRate: 48000, channels: [new Float32Array(960)] };

/** A raw gateway client that keeps every message and resolves waits on the first match. */
class RawGateway {
  readonly messages: Msg[] = [];
  readonly ws: WebSocket;
  readonly closed: Promise<number>;
  #waiters = new Set<{ pred: (m: Msg) => boolean; resolve: (m: Msg) => void }>();

  constructor(url: string) {
    this.ws = new WebSocket(`${url}?v=10&encoding=json`);
    this.ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as Msg;
      this.messages.push(m);
      for (const w of [...this.#waiters]) if (w.pred(m)) {
        this.#waiters.delete(w);
        w.resolve(m);
      }
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code) => resolve(code)));
  }

  /** The first message from index `from` on that matches. */
  next(pred: (m: Msg) => boolean, from = 0): Promise<Msg> {
    const seen = this.messages.slice(from).find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.add({ pred, resolve }));
  }

  dispatches(t: string): Msg[] {
    return this.messages.filter((m) => m.t === t);
  }

  send(op: number, d: unknown): void {
    this.ws.send(JSON.stringify({ op, d }));
  }

  /** Identifies; resolves with the bot's user id and GUILD_CREATE's data. */
  async identify(token: string, intents: number, presence?: unknown): Promise<{ me: string; guild: Record<string, unknown> }> {
    await this.next((m) => m.op === 10);
    this.send(2, { token, intents, properties: {}, ...(presence ? { presence } : {}) });
    const ready = await this.next((m) => m.t === 'READY');
    const guild = await this.next((m) => m.t === 'GUILD_CREATE');
    return { me: (ready.d.user as { id: string }).id, guild: guild.d };
  }
}

describe('members on the main gateway', () => {
  let standin: Standin;
  const clients: RawGateway[] = [];
  const connect = () => {
    const c = new RawGateway(standin.gatewayUrl);
    clients.push(c);
    return c;
  };
  const id = (name: string) => standin.speakers.get(name)!.userId;

  beforeAll(async () => {
    standin = await startStandin({
      speakers: [
        { name: 'alice', audio },
        { name: 'bob', audio, nick: 'Bobby', guildAvatar: true, voice: { selfMute: true } },
      ],
    });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.ws.terminate();
  });
  afterAll(async () => {
    await standin?.close();
  });

  it('GUILD_CREATE without GUILD_MEMBERS lists the bot and the members in voice, with names and avatar hashes; voice_states carry their member', async () => {
    const { me, guild } = await connect().identify('members-a', GUILDS | GUILD_VOICE_STATES);
    const members = guild.members as Member[];
    expect(members.map((m) => m.user.id).sort()).toEqual([me, id('alice'), id('bob')].sort());
    const alice = members.find((m) => m.user.id === id('alice'))!;
    expect(alice).toMatchObject({ nick: null, avatar: null, user: { username: 'alice', global_name: 'Alice', bot: false, avatar: expect.stringMatching(/^[0-9a-f]{32}$/) } });
    const bob = members.find((m) => m.user.id === id('bob'))!;
    expect(bob).toMatchObject({ nick: 'Bobby', avatar: expect.stringMatching(/^[0-9a-f]{32}$/), user: { username: 'bob', global_name: 'Bob' } });
    const bot = members.find((m) => m.user.id === me)!;
    expect(bot.user).toMatchObject({ bot: true, global_name: expect.stringMatching(/^Stand-in Bot /), avatar: expect.stringMatching(/^[0-9a-f]{32}$/) });
    const states = guild.voice_states as VoiceState[];
    expect(states.map((s) => s.user_id).sort()).toEqual([id('alice'), id('bob')].sort());
    for (const s of states) {
      expect(s).not.toHaveProperty('guild_id');
      expect(s.member?.user.id).toBe(s.user_id);
    }
    expect(states.find((s) => s.user_id === id('bob'))).toMatchObject({ self_mute: true, channel_id: standin.voiceChannelId, member: { nick: 'Bobby' } });
    expect(guild.member_count).toBe(standin.world.users.size);
  });

  it('GUILD_CREATE with GUILD_MEMBERS lists every member, the owner too', async () => {
    const { guild } = await connect().identify('members-b', GUILDS | GUILD_MEMBERS | GUILD_VOICE_STATES);
    const ids = (guild.members as Member[]).map((m) => m.user.id);
    expect(ids).toContain(standin.world.ownerId);
    expect(ids.length).toBe(standin.world.users.size);
  });

  it('a speaker joining, muting and leaving is VOICE_STATE_UPDATE with the member each time; GUILD_MEMBER_ADD only reaches GUILD_MEMBERS sessions', async () => {
    const plain = connect();
    const privileged = connect();
    await plain.identify('members-c', GUILDS | GUILD_VOICE_STATES);
    await privileged.identify('members-d', GUILDS | GUILD_MEMBERS | GUILD_VOICE_STATES);
    const info = standin.speakers.join({ name: 'dave', audio, displayName: 'Dave the Tester' });
    const isDave = (channel: string | null) => (m: Msg) => m.t === 'VOICE_STATE_UPDATE' && m.d.user_id === info.userId && m.d.channel_id === channel;
    const joined = (await plain.next(isDave(standin.voiceChannelId))).d as unknown as VoiceState;
    expect(joined.member).toMatchObject({ user: { id: info.userId, username: 'dave', global_name: 'Dave the Tester', avatar: expect.stringMatching(/^[0-9a-f]{32}$/) } });
    await privileged.next(isDave(standin.voiceChannelId));
    // GUILD_MEMBER_ADD is dispatched before the voice state: on the same socket it would have come first.
    expect(plain.dispatches('GUILD_MEMBER_ADD')).toEqual([]);
    expect(privileged.dispatches('GUILD_MEMBER_ADD').map((m) => (m.d.user as { id: string }).id)).toEqual([info.userId]);

    const muted = plain.next((m) => m.t === 'VOICE_STATE_UPDATE' && m.d.user_id === info.userId && m.d.self_deaf === true);
    standin.speakers.setVoiceFlags('dave', { selfDeaf: true, mute: true });
    expect((await muted).d).toMatchObject({ channel_id: standin.voiceChannelId, self_deaf: true, self_mute: false, mute: true, member: { mute: true, user: { id: info.userId } } });

    standin.speakers.leave('dave');
    const left = (await plain.next(isDave(null))).d as unknown as VoiceState;
    expect(left.member?.user.global_name).toBe('Dave the Tester');
    expect(standin.world.usersInVoice()).not.toContain(info.userId);
    expect(() => standin.speakers.setVoiceFlags('dave', { selfMute: true })).toThrow();

    // Coming back is the same user, not a new member.
    const mark = privileged.messages.length;
    const again = standin.speakers.join({ name: 'dave', audio });
    expect(again.userId).toBe(info.userId);
    await privileged.next(isDave(standin.voiceChannelId), mark);
    expect(privileged.dispatches('GUILD_MEMBER_ADD')).toHaveLength(1);
    standin.speakers.leave('dave');
  });

  it('records op 3 presence updates (and Identify presence) per bot, relays them to GUILD_PRESENCES sessions, and closes 4002 on a malformed one', async () => {
    const watcher = connect();
    await watcher.identify('members-watch', GUILDS | GUILD_PRESENCES);
    const bot = connect();
    const initial = { since: null, activities: [{ name: 'warming up', type: 0 }], status: 'idle', afk: false };
    const { me } = await bot.identify('members-presence', GUILDS | GUILD_VOICE_STATES, initial);
    expect(standin.presence.current(me)).toMatchObject({ source: 'identify', status: 'idle' });
    expect(standin.presence.activityText(me)).toBe('warming up');

    const next = (pred: (r: PresenceRecord) => boolean) => new Promise<PresenceRecord>((resolve) => {
      const on = (r: PresenceRecord) => {
        if (!pred(r)) return;
        standin.presence.off('update', on);
        resolve(r);
      };
      standin.presence.on('update', on);
    });
    const custom = next((r) => r.userId === me && r.source === 'update');
    bot.send(3, { since: null, activities: [{ name: 'Custom Status', type: 4, state: 'Relaying to 2 moderators' }], status: 'online', afk: false });
    expect(await custom).toMatchObject({ status: 'online', activities: [{ type: 4, state: 'Relaying to 2 moderators' }] });
    expect(standin.presence.activityText(me)).toBe('Relaying to 2 moderators');
    const relayed = await watcher.next((m) => m.t === 'PRESENCE_UPDATE');
    expect(relayed.d).toMatchObject({ user: { id: me }, guild_id: standin.guildId, status: 'online' });

    const cleared = next((r) => r.userId === me && r.activities.length === 0);
    bot.send(3, { since: null, activities: [], status: 'online', afk: false });
    await cleared;
    expect(standin.presence.activityText(me)).toBeUndefined();
    expect(standin.presence.updates(me).map((r) => r.source)).toEqual(['identify', 'update', 'update']);

    bot.send(3, { since: null, activities: 'none', status: 'online', afk: false });
    expect(await bot.closed).toBe(4002);
  });
});
