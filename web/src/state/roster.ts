/**
 * The roster reducer: bus envelopes in, sessions and names out. Pure and defensive — a payload that
 * does not have the fields it needs is ignored (the state is returned unchanged, same object).
 */
import type { BusEnvelope } from '../net/bus.ts';
import type { HealthSummary, Member, RosterState, SessionRecord, SessionStatus, UserInfo } from './types.ts';

export const ROSTER_INTENTS = ['voice.state.connected', 'voice.health', 'voice.members', 'voice.listeners'] as const;

const STATUSES: ReadonlySet<string> = new Set(['connected', 'reconnecting', 'disconnected', 'dave_required', 'kicked']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const num = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
const bool = (v: unknown): boolean => v === true;

export function reduceRoster(state: RosterState, env: BusEnvelope, now: number): RosterState {
  const p = env.payload;
  if (!isObj(p)) return state;
  const sessionId = str(p.session_id);
  if (!sessionId) return state;
  switch (env.intent) {
    case 'voice.state.connected':
      return onState(state, env, sessionId, p, now);
    case 'voice.health':
      return onHealth(state, env, sessionId, p, now);
    case 'voice.members':
      return onMembers(state, env, sessionId, p, now);
    case 'voice.listeners':
      return onListeners(state, env, sessionId, p, now);
    default:
      return state;
  }
}

function base(state: RosterState, env: BusEnvelope, sessionId: string, now: number): SessionRecord {
  const old = state.sessions[sessionId];
  if (old) return { ...old, last_seen: now };
  return {
    session_id: sessionId,
    provider: env.provider,
    tenant: env.tenant,
    guild_id: null,
    channel_id: null,
    status: 'unknown',
    ssrc_map: {},
    members: null,
    health: null,
    listeners: null,
    last_seen: now,
  };
}

function withSession(state: RosterState, s: SessionRecord): RosterState {
  return { ...state, sessions: { ...state.sessions, [s.session_id]: s } };
}

function onState(state: RosterState, env: BusEnvelope, id: string, p: Obj, now: number): RosterState {
  const s = base(state, env, id, now);
  const status = typeof p.status === 'string' && STATUSES.has(p.status) ? (p.status as SessionStatus) : 'connected';
  const ssrc: Record<string, string> = {};
  if (isObj(p.ssrc_map)) for (const [k, v] of Object.entries(p.ssrc_map)) if (typeof v === 'string' && v) ssrc[k] = v;
  return withSession(state, { ...s, guild_id: str(p.guild_id) ?? s.guild_id, channel_id: str(p.channel_id) ?? s.channel_id, status, ssrc_map: ssrc });
}

function onHealth(state: RosterState, env: BusEnvelope, id: string, p: Obj, now: number): RosterState {
  const s = base(state, env, id, now);
  const speakers = Array.isArray(p.speakers) ? p.speakers : [];
  const health: HealthSummary = {
    state: str(p.state) ?? 'UNKNOWN',
    ping_ms: typeof p.ping_ms === 'number' && Number.isFinite(p.ping_ms) ? p.ping_ms : null,
    jitter_ms: num(p.jitter_ms, 0),
    loss_pct: num(p.loss_pct, 0),
    faults: Array.isArray(p.faults) ? p.faults.filter((f): f is string => typeof f === 'string') : [],
    speaker_ids: speakers.map((x) => (isObj(x) ? str(x.user_id) : undefined)).filter((x): x is string => x !== undefined),
  };
  return withSession(state, { ...s, health });
}

function parseMember(raw: unknown, known: Readonly<Record<string, UserInfo>>): Member | undefined {
  if (!isObj(raw)) return undefined;
  const user_id = str(raw.user_id);
  if (!user_id) return undefined;
  const avatar = str(raw.avatar_url);
  // The bridge sends the user id as display_name when it knows no name: that is not a name.
  const given = str(raw.display_name)?.trim();
  const name = given && given !== user_id ? given : undefined;
  return {
    user_id,
    display_name: name || known[user_id]?.display_name || '',
    avatar_url: avatar ?? (raw.avatar_url === null ? null : (known[user_id]?.avatar_url ?? null)),
    bot: bool(raw.bot),
    mute: bool(raw.mute),
    deaf: bool(raw.deaf),
    self_mute: bool(raw.self_mute),
    self_deaf: bool(raw.self_deaf),
  };
}

function onMembers(state: RosterState, env: BusEnvelope, id: string, p: Obj, now: number): RosterState {
  if (!Array.isArray(p.members)) return state;
  const s = base(state, env, id, now);
  const members: Member[] = [];
  const seen = new Set<string>();
  for (const raw of p.members) {
    const m = parseMember(raw, state.users);
    if (m && !seen.has(m.user_id)) {
      seen.add(m.user_id);
      members.push(m);
    }
  }
  let users = state.users;
  for (const m of members) {
    if (!m.display_name) continue;
    const old = users[m.user_id];
    if (old && old.display_name === m.display_name && old.avatar_url === m.avatar_url && old.bot === m.bot) continue;
    if (users === state.users) users = { ...users };
    (users as Record<string, UserInfo>)[m.user_id] = { display_name: m.display_name, avatar_url: m.avatar_url, bot: m.bot };
  }
  const guild_id = str(p.guild_id) ?? s.guild_id;
  const channel_id = str(p.channel_id) ?? s.channel_id;
  const guildName = str(p.guild_name);
  const channelName = str(p.channel_name);
  const next: RosterState = {
    sessions: { ...state.sessions, [id]: { ...s, guild_id, channel_id, members } },
    users,
    guild_names: guildName && guild_id ? { ...state.guild_names, [guild_id]: guildName } : state.guild_names,
    channel_names: channelName && channel_id ? { ...state.channel_names, [channel_id]: channelName } : state.channel_names,
  };
  return next;
}

function onListeners(state: RosterState, env: BusEnvelope, id: string, p: Obj, now: number): RosterState {
  if (typeof p.count !== 'number' || !Number.isFinite(p.count) || p.count < 0) return state;
  const s = base(state, env, id, now);
  return withSession(state, { ...s, listeners: Math.floor(p.count) });
}

/** Drops sessions not heard of for `maxAgeMs` (the bridge is gone); `keep` survives (it is being listened to). */
export function pruneRoster(state: RosterState, now: number, maxAgeMs: number, keep: string | null = null): RosterState {
  let sessions: Record<string, SessionRecord> | undefined;
  for (const [id, s] of Object.entries(state.sessions)) {
    if (id === keep || now - s.last_seen <= maxAgeMs) continue;
    sessions ??= { ...state.sessions };
    delete sessions[id];
  }
  return sessions ? { ...state, sessions } : state;
}
