/** Views over the roster for the UI and the listener: names, speakers, groups. Pure. */
import type { RosterState, SessionRecord } from './types.ts';

/** Sessions with no news for this long are shown as stale. */
export const STALE_AFTER_MS = 15_000;

/** The last digits of an id, for the rare case no name is known yet: "User ·4821". */
function shortId(id: string): string {
  return `·${id.slice(-4)}`;
}

export function userName(roster: RosterState, userId: string): string {
  return roster.users[userId]?.display_name || `User ${shortId(userId)}`;
}

export function guildName(roster: RosterState, guildId: string | null): string {
  if (!guildId) return 'Unknown server';
  return roster.guild_names[guildId] ?? `Server ${shortId(guildId)}`;
}

export function channelName(roster: RosterState, channelId: string | null): string {
  if (!channelId) return 'Voice channel';
  return roster.channel_names[channelId] ?? `Channel ${shortId(channelId)}`;
}

export function isStale(s: SessionRecord, now: number): boolean {
  return now - s.last_seen > STALE_AFTER_MS;
}

/** Live: the bridge says connected, or nothing said otherwise and news is fresh. */
export function isLive(s: SessionRecord, now: number): boolean {
  if (isStale(s, now)) return false;
  return s.status === 'connected' || s.status === 'unknown';
}

export interface SpeakerView {
  user_id: string;
  name: string;
  /** True when `name` came from Discord, false for the "User ·1234" placeholder. */
  named: boolean;
  avatar_url: string | null;
  bot: boolean;
  mute: boolean;
  deaf: boolean;
  self_mute: boolean;
  self_deaf: boolean;
  /** Has sent audio in this session (in the ssrc map or health speakers). */
  heard: boolean;
}

/**
 * The session's speakers: the members of the channel once a member snapshot is known (people who
 * left are gone even if the ssrc map still has them); before that, whoever the ssrc map and health
 * name. Humans by name first, bots last.
 */
export function sessionSpeakers(roster: RosterState, s: SessionRecord): SpeakerView[] {
  const heard = new Set([...Object.values(s.ssrc_map), ...(s.health?.speaker_ids ?? [])]);
  const out: SpeakerView[] = [];
  if (s.members) {
    for (const m of s.members) {
      const known = roster.users[m.user_id];
      const name = m.display_name || known?.display_name;
      out.push({ ...m, name: name || userName(roster, m.user_id), named: Boolean(name), heard: heard.has(m.user_id) });
    }
  } else {
    for (const id of heard) {
      const known = roster.users[id];
      out.push({
        user_id: id,
        name: userName(roster, id),
        named: Boolean(known),
        avatar_url: known?.avatar_url ?? null,
        bot: known?.bot ?? false,
        mute: false,
        deaf: false,
        self_mute: false,
        self_deaf: false,
        heard: true,
      });
    }
  }
  return out.sort((a, b) => Number(a.bot) - Number(b.bot) || a.name.localeCompare(b.name) || a.user_id.localeCompare(b.user_id));
}

export interface ListenTarget {
  /** Who to ask the SFU for: every non-bot speaker, sorted. */
  user_ids: string[];
  /** Those of them known to send audio: each should get a track (the SFU has a producer for them). */
  expect: string[];
  /** Changes when the list changes or one of them starts sending audio: time to renegotiate. */
  key: string;
}

export function listenTarget(roster: RosterState, s: SessionRecord | undefined): ListenTarget {
  if (!s) return { user_ids: [], expect: [], key: '' };
  const speakers = sessionSpeakers(roster, s).filter((x) => !x.bot);
  const user_ids = speakers.map((x) => x.user_id).sort();
  const heard = speakers.filter((x) => x.heard).map((x) => x.user_id).sort();
  return { user_ids, expect: heard, key: `${user_ids.join(',')}|${heard.join(',')}` };
}

export interface GuildGroup {
  guild_id: string | null;
  name: string;
  sessions: SessionRecord[];
}

export interface TenantGroup {
  tenant: string;
  guilds: GuildGroup[];
}

export interface Visibility {
  guilds: string[] | null;
  channels: string[] | null;
}

/** Tenant → guild → sessions, by name; sessions outside the moderator's guilds/channels are left out. */
export function groupSessions(roster: RosterState, visible: Visibility): TenantGroup[] {
  const tenants = new Map<string, Map<string, GuildGroup>>();
  for (const s of Object.values(roster.sessions)) {
    if (visible.guilds && (!s.guild_id || !visible.guilds.includes(s.guild_id))) continue;
    if (visible.channels && (!s.channel_id || !visible.channels.includes(s.channel_id))) continue;
    let guilds = tenants.get(s.tenant);
    if (!guilds) tenants.set(s.tenant, (guilds = new Map()));
    const key = s.guild_id ?? '';
    let g = guilds.get(key);
    if (!g) guilds.set(key, (g = { guild_id: s.guild_id, name: guildName(roster, s.guild_id), sessions: [] }));
    g.sessions.push(s);
  }
  const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
  return [...tenants.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([tenant, guilds]) => ({
      tenant,
      guilds: [...guilds.values()].sort(byName).map((g) => ({
        ...g,
        sessions: g.sessions.sort((a, b) => channelName(roster, a.channel_id).localeCompare(channelName(roster, b.channel_id)) || a.session_id.localeCompare(b.session_id)),
      })),
    }));
}

/** The first live session in display order, else the first at all, else null. */
export function firstLiveSession(groups: TenantGroup[], now: number): string | null {
  const all = groups.flatMap((t) => t.guilds.flatMap((g) => g.sessions));
  return (all.find((s) => isLive(s, now)) ?? all[0])?.session_id ?? null;
}
