/**
 * Names and faces end to end: the real bridge process (discord.js with only the Guilds and
 * GuildVoiceStates intents) against the stand-in and a real hub. `voice.members` carries the
 * stand-in's names and avatar URLs on its CDN (fetched here), follows speakers leaving, joining and
 * muting, and reaches a late subscriber; `voice.listeners` becomes the bot's custom status (op 3) where
 * providers.yml lets the guild announce it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusClient, type PayloadOf } from '@promethean/shared';
import type { Hub } from '@promethean/server';
import { decodePalettePng, PNG_SIGNATURE, startStandin, type PcmAudio, type Standin } from '@promethean/standin';
import { BusCollector, joinUntilConnected, spawnBridge, startHub, TENANT, type BridgeProcess } from './harness.ts';

type Members = PayloadOf<'voice.members'>;
type Member = Members['members'][number];

/** A second of a quiet tone: speakers here only need to be in the channel, not to talk. */
function tone(): PcmAudio {
  const ch = new Float32Array(48000);
  for (let i = 0; i < ch.length; i++) ch[i] = 0.1 * Math.sin((2 * Math.PI * 440 * i) / 48000);
  return { sampleRate: 48000, channels: [ch] };
}

async function fetchPng(url: string): Promise<{ width: number; height: number }> {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  expect(res.headers.get('content-type'), url).toBe('image/png');
  const bytes = new Uint8Array(await res.arrayBuffer());
  expect(bytes.subarray(0, 8), url).toEqual(PNG_SIGNATURE);
  return decodePalettePng(bytes);
}

describe('voice.members and voice.listeners against the stand-in', () => {
  const audio = tone();
  let standin: Standin;
  let hub: Hub;
  let bus: BusCollector;

  beforeAll(async () => {
    standin = await startStandin({
      speakers: [
        { name: 'alice', audio },
        { name: 'bob', audio, nick: 'Bobby', guildAvatar: true },
        { name: 'carol', audio, avatar: false },
      ],
    });
    hub = await startHub();
    bus = new BusCollector(hub);
    await bus.start();
  }, 30_000);

  afterAll(async () => {
    bus?.close();
    await hub?.close();
    await standin?.close();
  });

  const id = (name: string) => standin.speakers.get(name)!.userId;
  const ofSession = (sessionId: string) => bus.members.filter((m) => m.session_id === sessionId);
  /** Waits for a voice.members of `sessionId`, published after index `from`, that satisfies `pred`. */
  async function members(sessionId: string, pred: (m: Members) => boolean, what: string, from = 0): Promise<Members> {
    let found: Members | undefined;
    await bus.waitFor(() => (found = bus.members.slice(from).find((m) => m.session_id === sessionId && pred(m))) !== undefined, 15_000, what);
    return found!;
  }

  describe('with announce_listeners on (the providers.yml default)', () => {
    const SESSION = 'members-1';
    let bridge: BridgeProcess;

    beforeAll(async () => {
      bridge = spawnBridge(hub, standin);
      await joinUntilConnected(bus, bridge, standin, SESSION, (s) => s.session_id === SESSION && s.status === 'connected');
    }, 60_000);

    afterAll(async () => {
      await bridge?.stop();
    });

    it('publishes the stand-in’s names, the bot itself and avatar URLs on the stand-in CDN that resolve to PNGs', async () => {
      const snap = await members(SESSION, (m) => m.members.length === 4 && m.members.some((x) => x.bot), 'a snapshot with three speakers and the bot');
      expect(snap).toMatchObject({ guild_id: standin.guildId, channel_id: standin.voiceChannelId, guild_name: standin.world.guildName, channel_name: standin.world.channelName });
      const byId = new Map(snap.members.map((m) => [m.user_id, m] as const));
      const bot = snap.members.find((m) => m.bot)!;
      const botUser = standin.world.users.get(bot.user_id)!;
      expect(botUser.bot).toBe(true);
      expect(bot.display_name).toBe(botUser.globalName);
      const alice = standin.world.users.get(id('alice'))!;
      const bobMember = standin.world.members.get(id('bob'))!;
      const carolIndex = Number(BigInt(id('carol')) >> 22n) % 6;
      const flags = { mute: false, deaf: false, self_mute: false, self_deaf: false };
      expect(byId.get(id('alice'))).toEqual({ user_id: id('alice'), display_name: 'Alice', avatar_url: `${standin.cdnBase}/avatars/${alice.id}/${alice.avatar}.png?size=128`, bot: false, ...flags });
      expect(byId.get(id('bob'))).toEqual({ user_id: id('bob'), display_name: 'Bobby', avatar_url: `${standin.cdnBase}/guilds/${standin.guildId}/users/${id('bob')}/avatars/${bobMember.avatar}.png`.concat('?size=128'), bot: false, ...flags });
      expect(byId.get(id('carol'))).toEqual({ user_id: id('carol'), display_name: 'Carol', avatar_url: `${standin.cdnBase}/embed/avatars/${carolIndex}.png`, bot: false, ...flags });
      expect(bot.avatar_url).toBe(`${standin.cdnBase}/avatars/${botUser.id}/${botUser.avatar}.png?size=128`);
      for (const m of snap.members) {
        const png = await fetchPng(m.avatar_url!);
        expect([png.width, png.height], m.display_name).toEqual([128, 128]);
      }
      expect(snap.members.map((m) => m.display_name)).toEqual([...snap.members.map((m) => m.display_name)].sort((a, b) => a.localeCompare(b, 'en', { sensitivity: 'base' })));
    });

    it('a speaker leaving and another joining produce leave and join snapshots; muting is an update', async () => {
      const from = bus.members.length;
      const carol = id('carol');
      standin.speakers.leave('carol');
      const left = await members(SESSION, (m) => m.change.kind === 'leave' && m.change.user_id === carol, 'carol leaving', from);
      expect(left.members.map((m) => m.user_id)).not.toContain(carol);
      expect(left.members).toHaveLength(3);

      const dave = standin.speakers.join({ name: 'dave', audio, displayName: 'Dave D.' });
      const joined = await members(SESSION, (m) => m.change.kind === 'join' && m.change.user_id === dave.userId, 'dave joining', from);
      const entry = joined.members.find((m) => m.user_id === dave.userId)!;
      expect(entry).toMatchObject({ display_name: 'Dave D.', bot: false, self_mute: false });
      expect(entry.avatar_url).toMatch(new RegExp(`^${standin.cdnBase}/avatars/${dave.userId}/[0-9a-f]{32}\\.png\\?size=128$`));
      expect((await fetchPng(entry.avatar_url!)).width).toBe(128);
      expect(joined.members.map((m) => m.user_id).sort()).toEqual([id('alice'), id('bob'), dave.userId, joined.members.find((m) => m.bot)!.user_id].sort());

      standin.speakers.setVoiceFlags('alice', { selfMute: true, deaf: true });
      const muted = await members(SESSION, (m) => m.change.kind === 'update' && m.change.user_id === id('alice'), 'alice muting', from);
      expect(muted.members.find((m) => m.user_id === id('alice'))).toMatchObject({ display_name: 'Alice', self_mute: true, self_deaf: false, deaf: true, mute: false });
      // Every message in between is a full list, never a bare delta.
      for (const m of ofSession(SESSION).slice(-3)) expect(m.members.length).toBeGreaterThanOrEqual(3);
    });

    it('a subscriber that arrives late gets a full snapshot within 5 s', async () => {
      const late = new BusClient({ url: hub.url, token: hub.agentKey });
      try {
        await late.connect();
        const got: Members[] = [];
        const sub = late.subscribe(`promethean.p.discord.t.${TENANT}.voice.members`, (env) => void got.push(env.payload as Members));
        await sub.ready;
        const t0 = performance.now();
        await bus.waitFor(() => got.some((m) => m.session_id === SESSION && m.change.kind === 'snapshot'), 7000, 'a periodic snapshot');
        expect(performance.now() - t0).toBeLessThan(5500);
        const snap = got.find((m) => m.change.kind === 'snapshot')!;
        expect(snap.members.some((m: Member) => m.display_name === 'Dave D.')).toBe(true);
      } finally {
        late.close();
      }
    });

    it('voice.listeners count 2 puts "Relaying to 2 moderators" in the bot’s presence (op 3); count 0 clears it', async () => {
      const botId = ofSession(SESSION).at(-1)!.members.find((m) => m.bot)!.user_id;
      const ids = { session_id: SESSION, guild_id: standin.guildId, channel_id: standin.voiceChannelId };
      bus.publish('voice.listeners', { ...ids, count: 2 });
      await bus.waitFor(() => standin.presence.activityText(botId) !== undefined, 10_000, 'the bot’s activity');
      expect(standin.presence.activityText(botId)).toBe('Relaying to 2 moderators');
      expect(standin.presence.current(botId)).toMatchObject({ source: 'update', status: 'online', activities: [{ type: 4, state: 'Relaying to 2 moderators' }] });
      bus.publish('voice.listeners', { ...ids, count: 0 });
      await bus.waitFor(() => standin.presence.current(botId)?.activities.length === 0, 10_000, 'the activity cleared');
      expect(standin.presence.activityText(botId)).toBeUndefined();
      expect(bus.errors).toEqual([]);
    });
  });

  describe('with announce_listeners off for the stand-in’s guild', () => {
    const SESSION = 'members-quiet';
    const TOKEN = 'standin-quiet-token';
    let bridge: BridgeProcess;

    beforeAll(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'bridge-members-'));
      const providers = join(dir, 'providers.yml');
      writeFileSync(
        providers,
        `version: 1
providers:
  discord:
    tenants:
      - id: ${TENANT}
        credentials:
          bot_token: \${DISCORD_BOT_TOKEN}
        allow:
          guilds: ["\${DISCORD_GUILD_ID}"]
        voice:
          announce_listeners: true
          guilds:
            - id: "\${DISCORD_GUILD_ID}"
              announce_listeners: false
`,
      );
      bridge = spawnBridge(hub, standin, { PROMETHEAN_PROVIDERS_FILE: providers, DISCORD_BOT_TOKEN: TOKEN });
      await joinUntilConnected(bus, bridge, standin, SESSION, (s) => s.session_id === SESSION && s.status === 'connected');
    }, 60_000);

    afterAll(async () => {
      await bridge?.stop();
    });

    it('publishing count 2 sets no activity (checked once the bridge’s next gateway message, its leave, has arrived)', async () => {
      const botId = standin.world.botForToken(TOKEN).id;
      expect(standin.world.usersInVoice()).toContain(botId);
      bus.publish('voice.listeners', { session_id: SESSION, guild_id: standin.guildId, channel_id: standin.voiceChannelId, count: 2 });
      // The bridge handles bus messages in order and sends op 3 and op 4 through the same gateway
      // socket: once its leave (op 4) has arrived, an op 3 for the count would have arrived before it.
      bus.publish('voice.control.leave', { guild_id: standin.guildId, session_id: SESSION });
      await bus.waitFor(() => !standin.world.usersInVoice().includes(botId), 10_000, 'the quiet bot leaving');
      expect(standin.presence.updates(botId).filter((r) => r.activities.length > 0)).toEqual([]);
      expect(standin.presence.activityText(botId)).toBeUndefined();
    });
  });
});
