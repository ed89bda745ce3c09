import { describe, expect, it } from 'vitest';
import type { BusEnvelope } from '../net/bus.ts';
import { pruneRoster, reduceRoster } from './roster.ts';
import { firstLiveSession, groupSessions, listenTarget, sessionSpeakers, userName } from './select.ts';
import { emptyRoster, type RosterState } from './types.ts';

const GUILD = '1094829301184372736';
const CHANNEL = '1094829301184372740';
const ALICE = '278993410011578368';
const BOB = '301182918822395904';
const BOT = '1187236548312018994';

let seq = 0;
function env(intent: string, payload: object, tenant = 'acme'): BusEnvelope {
  seq++;
  return { id: `id${seq}`, ts: new Date(0).toISOString(), src: 'bridge', dst: `promethean.p.discord.t.${tenant}.${intent}`, provider: 'discord', tenant, intent, payload };
}
const member = (user_id: string, display_name: string, extra: object = {}) => ({
  user_id, display_name, avatar_url: null, bot: false, mute: false, deaf: false, self_mute: false, self_deaf: false, ...extra,
});
const members = (list: object[], kind = 'snapshot', user_id?: string) =>
  env('voice.members', { session_id: 'v1', guild_id: GUILD, channel_id: CHANNEL, guild_name: 'Lantern Club', channel_name: 'Lounge', members: list, change: { kind, user_id } });
const connected = (ssrc_map: Record<string, string>, status = 'connected') =>
  env('voice.state.connected', { session_id: 'v1', guild_id: GUILD, channel_id: CHANNEL, ssrc_map, sample_rate: 48000, channels: 2, frame_hop_ms: 20, status });
const health = (speakers: string[]) =>
  env('voice.health', { session_id: 'v1', state: 'RUNNING', ping_ms: 41, jitter_ms: 3.2, loss_pct: 0.5, reordered: 0, clock_skew_ppm: 0, queue_depth: 0, dropped_frames: 0, malformed_packets: 0, decrypt_errors: 0, faults: [], speakers: speakers.map((user_id, i) => ({ user_id, ssrc: 1000 + i })) });

function run(...envs: BusEnvelope[]): RosterState {
  return envs.reduce((s, e, i) => reduceRoster(s, e, 1000 + i), emptyRoster);
}

describe('reduceRoster', () => {
  it('builds a session from voice.state.connected, voice.health and voice.members', () => {
    const r = run(connected({ '111': ALICE }), health([ALICE]), members([member(ALICE, 'Alice'), member(BOT, 'Promethean', { bot: true })]));
    const s = r.sessions.v1!;
    expect(s).toMatchObject({ tenant: 'acme', guild_id: GUILD, channel_id: CHANNEL, status: 'connected', ssrc_map: { '111': ALICE } });
    expect(s.health).toMatchObject({ state: 'RUNNING', ping_ms: 41, loss_pct: 0.5, speaker_ids: [ALICE] });
    expect(r.guild_names[GUILD]).toBe('Lantern Club');
    expect(r.channel_names[CHANNEL]).toBe('Lounge');
    expect(sessionSpeakers(r, s).map((x) => [x.name, x.bot, x.heard])).toEqual([['Alice', false, true], ['Promethean', true, false]]);
  });

  it('never shows a bare snowflake: ids known only from the ssrc map get names once members arrive, and keep them', () => {
    let r = run(connected({ '111': ALICE, '222': BOB }));
    const before = sessionSpeakers(r, r.sessions.v1!);
    expect(before.map((x) => x.name)).toEqual(['User ·5904', 'User ·8368']);
    expect(before.some((x) => x.name.includes(ALICE) || x.name.includes(BOB))).toBe(false);
    r = reduceRoster(r, members([member(ALICE, 'Alice'), member(BOB, 'Bob')]), 2000);
    expect(sessionSpeakers(r, r.sessions.v1!).map((x) => x.name)).toEqual(['Alice', 'Bob']);
    // A later snapshot that lacks a display name (or a second session) still uses the learned name.
    r = reduceRoster(r, members([member(ALICE, '')]), 3000);
    expect(sessionSpeakers(r, r.sessions.v1!).map((x) => x.name)).toEqual(['Alice']);
    expect(userName(r, BOB)).toBe('Bob');
  });

  it('follows joins and leaves: the speaker list is the latest snapshot, not the stale ssrc map', () => {
    let r = run(connected({ '111': ALICE, '222': BOB }), members([member(ALICE, 'Alice'), member(BOB, 'Bob')]));
    expect(listenTarget(r, r.sessions.v1).user_ids).toEqual([ALICE, BOB].sort());
    r = reduceRoster(r, members([member(ALICE, 'Alice')], 'leave', BOB), 5000);
    expect(sessionSpeakers(r, r.sessions.v1!).map((x) => x.user_id)).toEqual([ALICE]);
    expect(listenTarget(r, r.sessions.v1).user_ids).toEqual([ALICE]);
    r = reduceRoster(r, members([member(ALICE, 'Alice'), member(BOB, 'Bob', { self_mute: true })], 'join', BOB), 6000);
    const bob = sessionSpeakers(r, r.sessions.v1!).find((x) => x.user_id === BOB)!;
    expect(bob).toMatchObject({ name: 'Bob', self_mute: true });
  });

  it('listen targets leave out bots, and the key changes when a member starts sending audio', () => {
    let r = run(members([member(ALICE, 'Alice'), member(BOB, 'Bob'), member(BOT, 'Promethean', { bot: true })]));
    const t1 = listenTarget(r, r.sessions.v1);
    expect(t1.user_ids).toEqual([ALICE, BOB].sort());
    r = reduceRoster(r, connected({ '333': BOB }), 2000);
    const t2 = listenTarget(r, r.sessions.v1);
    expect(t2.user_ids).toEqual(t1.user_ids);
    expect(t2.key).not.toBe(t1.key);
    expect(reduceRoster(r, health([BOB]), 3000)).not.toBe(r);
    expect(listenTarget(reduceRoster(r, health([BOB]), 3000), r.sessions.v1).key).toBe(t2.key);
  });

  it('counts listening moderators and takes the bridge status', () => {
    let r = run(connected({}, 'reconnecting'), env('voice.listeners', { session_id: 'v1', guild_id: GUILD, channel_id: CHANNEL, count: 2 }));
    expect(r.sessions.v1).toMatchObject({ status: 'reconnecting', listeners: 2 });
    r = reduceRoster(r, connected({}, 'dave_required'), 3000);
    expect(r.sessions.v1!.status).toBe('dave_required');
    r = reduceRoster(r, connected({}, 'weird'), 4000);
    expect(r.sessions.v1!.status).toBe('connected');
  });

  it('ignores malformed payloads and unknown intents, returning the same state object', () => {
    const r = run(connected({ '111': ALICE }));
    expect(reduceRoster(r, env('voice.members', { session_id: 'v1', members: 'nope' }), 9)).toBe(r);
    expect(reduceRoster(r, env('voice.health', { state: 'RUNNING' }), 9)).toBe(r);
    expect(reduceRoster(r, env('voice.listeners', { session_id: 'v1', count: -1 }), 9)).toBe(r);
    expect(reduceRoster(r, env('transcript.final', { session_id: 'v1' }), 9)).toBe(r);
    const odd = reduceRoster(r, members([{ display_name: 'no id' }, member(ALICE, 'Alice'), member(ALICE, 'Alice twice')]), 9);
    expect(odd.sessions.v1!.members!.map((m) => m.display_name)).toEqual(['Alice']);
  });
});

describe('grouping and selection', () => {
  const other = (id: string, guild: string, channel: string, guild_name: string, channel_name: string, tenant = 'acme') =>
    env('voice.members', { session_id: id, guild_id: guild, channel_id: channel, guild_name, channel_name, members: [], change: { kind: 'snapshot' } }, tenant);

  it('groups tenant → guild → session by name and honours the moderator guild/channel limits', () => {
    const r = run(other('v1', '10', '11', 'Zebra', 'Stage'), other('v2', '20', '21', 'Alpha', 'Lobby'), other('v3', '20', '22', 'Alpha', 'Den'));
    const groups = groupSessions(r, { guilds: null, channels: null });
    expect(groups.map((t) => t.tenant)).toEqual(['acme']);
    expect(groups[0]!.guilds.map((g) => [g.name, g.sessions.map((s) => s.session_id)])).toEqual([['Alpha', ['v3', 'v2']], ['Zebra', ['v1']]]);
    const limited = groupSessions(r, { guilds: ['20'], channels: ['21'] });
    expect(limited[0]!.guilds.flatMap((g) => g.sessions.map((s) => s.session_id))).toEqual(['v2']);
  });

  it('selects the first live session; a disconnected or stale one only when nothing is live', () => {
    let r = run(other('v1', '10', '11', 'Alpha', 'A'), other('v2', '10', '12', 'Alpha', 'B'));
    r = reduceRoster(r, env('voice.state.connected', { session_id: 'v1', guild_id: '10', channel_id: '11', ssrc_map: {}, status: 'disconnected' }), 1500);
    const groups = groupSessions(r, { guilds: null, channels: null });
    expect(firstLiveSession(groups, 2000)).toBe('v2');
    expect(firstLiveSession(groups, 60_000)).toBe('v1');
    expect(firstLiveSession([], 0)).toBeNull();
  });

  it('prunes sessions not heard of for a minute, except the one being listened to', () => {
    const r = run(other('v1', '10', '11', 'A', 'A'), other('v2', '10', '12', 'A', 'B'));
    expect(pruneRoster(r, 30_000, 60_000)).toBe(r);
    expect(Object.keys(pruneRoster(r, 90_000, 60_000).sessions)).toEqual([]);
    expect(Object.keys(pruneRoster(r, 90_000, 60_000, 'v2').sessions)).toEqual(['v2']);
  });
});

describe('names the bridge does not know', () => {
  it('a display_name equal to the user id is not a name: the learned one (or a placeholder) is shown', () => {
    let r = run(members([member(ALICE, ALICE)]));
    expect(sessionSpeakers(r, r.sessions.v1!)[0]).toMatchObject({ name: 'User ·8368', named: false });
    r = reduceRoster(r, members([member(ALICE, 'Alice')]), 2000);
    r = reduceRoster(r, members([member(ALICE, ALICE)]), 3000);
    expect(sessionSpeakers(r, r.sessions.v1!)[0]).toMatchObject({ name: 'Alice', named: true });
  });
});
