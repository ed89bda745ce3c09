/**
 * What the console knows about voice sessions, built from bus envelopes by `reduceRoster`.
 * `voice.state.connected` and `voice.health` follow `shared/src/schemas/voice.ts`; `voice.members`
 * and `voice.listeners` follow the console contract (move them into shared when their schemas land).
 */
import type { PayloadOf } from '@promethean/shared';

export type VoiceStatePayload = PayloadOf<'voice.state.connected'>;
export type VoiceHealthPayload = PayloadOf<'voice.health'>;

/** `voice.state.connected` status, or 'unknown' until that envelope arrives. */
export type SessionStatus = VoiceStatePayload['status'] | 'unknown';

export interface Member {
  user_id: string;
  display_name: string;
  avatar_url: string | null;
  bot: boolean;
  /** Server-muted / deafened. */
  mute: boolean;
  deaf: boolean;
  self_mute: boolean;
  self_deaf: boolean;
}

export interface VoiceMembersPayload {
  session_id: string;
  guild_id: string;
  channel_id: string;
  guild_name?: string;
  channel_name?: string;
  members: Member[];
  change: { kind: 'snapshot' | 'join' | 'leave' | 'update'; user_id?: string };
}

export interface VoiceListenersPayload {
  session_id: string;
  guild_id?: string;
  channel_id?: string;
  count: number;
}

export interface HealthSummary {
  state: string;
  ping_ms: number | null;
  jitter_ms: number;
  loss_pct: number;
  faults: string[];
  /** Users with received audio, from `speakers[]`. */
  speaker_ids: string[];
}

export interface SessionRecord {
  session_id: string;
  provider: string;
  tenant: string;
  guild_id: string | null;
  channel_id: string | null;
  status: SessionStatus;
  /** ssrc → user id. */
  ssrc_map: Record<string, string>;
  /** The channel's members from the latest `voice.members`; null before the first one. */
  members: Member[] | null;
  health: HealthSummary | null;
  /** Moderators listening (`voice.listeners`); null until known. */
  listeners: number | null;
  /** Local time (ms) of the last envelope about this session. */
  last_seen: number;
}

export interface UserInfo {
  display_name: string;
  avatar_url: string | null;
  bot: boolean;
}

export interface RosterState {
  sessions: Readonly<Record<string, SessionRecord>>;
  /** Every user name learned from any session, so a known name is never shown as a bare id. */
  users: Readonly<Record<string, UserInfo>>;
  guild_names: Readonly<Record<string, string>>;
  channel_names: Readonly<Record<string, string>>;
}

export const emptyRoster: RosterState = { sessions: {}, users: {}, guild_names: {}, channel_names: {} };
