/**
 * The console's state as signals, read by the UI; the media layer and the bus write to it through
 * the composition root (`app.ts`). Components only render this state and call `ConsoleActions`.
 */
import { signal, type Signal } from '@preact/signals';
import type { SessionInfo } from '../auth/session.ts';
import { LEVEL_FLOOR_DB } from '../dsp/level.ts';
import { IDLE, type ListenerState } from '../media/listener-machine.ts';
import type { SpeakerPrefs } from '../media/mix.ts';
import type { AnalysisModel } from './analysis.ts';
import type { BusStatus } from '../net/bus.ts';
import { emptyRoster, type RosterState } from './types.ts';

export type AuthState =
  | { kind: 'loading' }
  | { kind: 'signed-in'; session: SessionInfo }
  | { kind: 'signed-out'; message: string }
  | { kind: 'error'; message: string };

export interface Level {
  /** RMS level in dBFS, rounded; {@link LEVEL_FLOOR_DB} for silence or no audio. */
  db: number;
  speaking: boolean;
}

export interface Notice {
  id: number;
  tone: 'error' | 'info';
  text: string;
}

export interface ConsoleState {
  auth: Signal<AuthState>;
  bus: Signal<BusStatus>;
  roster: Signal<RosterState>;
  /** Wall clock, ticking once a second (staleness). */
  now: Signal<number>;
  selected: Signal<string | null>;
  listener: Signal<ListenerState>;
  /** Speakers that have a playing track. */
  audioTracks: Signal<string[]>;
  /** The browser refused playback until the moderator clicks. */
  audioBlocked: Signal<boolean>;
  prefs: Signal<Readonly<Record<string, SpeakerPrefs>>>;
  notices: Signal<Notice[]>;
  /** One signal per speaker so a level change re-renders only that tile. */
  level(userId: string): Signal<Level>;
}

export interface ConsoleActions {
  select(sessionId: string): void;
  /** Listen to every non-bot speaker of the session, or stop if already listening to it. Call from a click. */
  toggleListen(sessionId: string): void;
  setVolume(userId: string, volume: number): void;
  toggleMute(userId: string): void;
  toggleSolo(userId: string): void;
  /** Retry playback the browser refused (a click is the gesture it wants). */
  enableAudio(): void;
  dismissNotice(id: number): void;
}

export interface ConsoleModel {
  state: ConsoleState;
  actions: ConsoleActions;
  /** Spectrograms, VAD, replay and evidence (absent where the console runs without them). */
  analysis?: AnalysisModel;
}

export const SILENT: Level = { db: LEVEL_FLOOR_DB, speaking: false };

export function createConsoleState(): ConsoleState {
  const levels = new Map<string, Signal<Level>>();
  return {
    auth: signal<AuthState>({ kind: 'loading' }),
    bus: signal<BusStatus>('idle'),
    roster: signal<RosterState>(emptyRoster),
    now: signal(Date.now()),
    selected: signal<string | null>(null),
    listener: signal<ListenerState>(IDLE),
    audioTracks: signal<string[]>([]),
    audioBlocked: signal(false),
    prefs: signal<Readonly<Record<string, SpeakerPrefs>>>({}),
    notices: signal<Notice[]>([]),
    level(userId) {
      let s = levels.get(userId);
      if (!s) levels.set(userId, (s = signal(SILENT)));
      return s;
    },
  };
}
