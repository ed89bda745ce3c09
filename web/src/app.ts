/**
 * The composition root: the one place that picks the concrete pieces (browser fetch, WebSocket,
 * RTCPeerConnection or mediasoup-client, Web Audio) and wires them to the console state.
 * Everything else depends on interfaces and signals.
 */
import { batch, effect } from '@preact/signals';
import { signIn, SIGN_IN_HINT, type SessionInfo } from './auth/session.ts';
import { ApiError } from './errors.ts';
import { AudioGraph } from './media/audio-graph.ts';
import { Listener } from './media/listener.ts';
import { defaultSpeakerPrefs, mixOutputs, type SpeakerPrefs } from './media/mix.ts';
import { createBrowserDevice } from './media/mediasoup/browser-device.ts';
import { createMediasoupSession } from './media/mediasoup/session.ts';
import { createSdpSession } from './media/peer.ts';
import type { OnReceiver } from './media/media-session.ts';
import { httpSignalling } from './media/signalling.ts';
import { BusConnection, busUrl, intentPattern } from './net/bus.ts';
import type { FetchLike } from './net/http.ts';
import { pruneRoster, reduceRoster, ROSTER_INTENTS } from './state/roster.ts';
import { firstLiveSession, groupSessions, listenTarget } from './state/select.ts';
import { createConsoleState, type ConsoleActions, type ConsoleModel } from './state/store.ts';
import { createTranscripts, TRANSCRIPT_INTENT, type TranscriptsHost } from './state/transcripts.ts';
import { createTranscriptHistory } from './state/transcript-history.ts';
import { createFlags, FLAG_INTENT, type FlagsHost } from './ui/flags-panel.ts';
import { createAnalysis } from './analysis-root.ts';
import { installTestHooks } from './test-hooks.ts';
import { backoffDelay } from './util/backoff.ts';

/** Sessions silent this long are dropped from the list. */
const FORGET_AFTER_MS = 60_000;
/** Check the sign-in every this many failed bus reconnects (a closed socket cannot say 401). */
const AUTH_CHECK_EVERY = 3;

const browserFetch: FetchLike = (input, init) => fetch(input, init);

export function createConsole(): ConsoleModel & TranscriptsHost & FlagsHost & { start(loginToken: string | null): Promise<void> } {
  const state = createConsoleState();
  // Captions, the transcript and its search: recent duck.transcript.segment lines, bounded.
  const transcripts = createTranscripts();
  // Moderation flags (watch rules that matched a transcript): the newest page at every bus (re)connect, then live.
  const flags = createFlags(browserFetch);
  const graph = new AudioGraph();
  // Bound once the analysis exists (below): replay capture attaches to each receiver before its first frame.
  let receiverHook: OnReceiver | undefined;
  const onReceiver: OnReceiver = (userId, mid, receiver) => receiverHook?.(userId, mid, receiver);
  const listener = new Listener({
    signalling: httpSignalling(browserFetch),
    // The offer's kind picks the handshake: werift sends SDP, mediasoup its client's parameters.
    createSession: (kind) => (kind === 'mediasoup' ? createMediasoupSession({ createDevice: createBrowserDevice, onReceiver }) : createSdpSession({ onReceiver })),
    target: (sessionId) => {
      const roster = state.roster.peek();
      return listenTarget(roster, roster.sessions[sessionId]);
    },
  });
  let noticeSeq = 0;
  const notify = (tone: 'error' | 'info', text: string): void => {
    state.notices.value = [...state.notices.peek().filter((n) => n.text !== text), { id: ++noticeSeq, tone, text }].slice(-3);
  };

  listener.on('stateChange', (_old, next) => (state.listener.value = next));
  listener.on('tracks', (tracks) => {
    graph.sync(tracks);
    state.audioTracks.value = tracks.map((t) => t.user_id);
  });
  listener.on('problem', (error) => {
    if (error instanceof ApiError && error.status === 401) void checkSignIn();
    else notify('error', `Audio: ${error.message}`);
  });
  graph.on('level', (userId, db, speaking) => (state.level(userId).value = { db, speaking }));
  graph.on('blocked', (blocked) => (state.audioBlocked.value = blocked));

  effect(() => graph.setOutputs(mixOutputs(state.prefs.value, state.audioTracks.value)));
  // Closing the tab ends the listener on the server at once (the DELETE is sent with keepalive).
  addEventListener('pagehide', () => listener.stop());

  // Renegotiate when the speakers of the session being listened to change.
  let lastKey = '';
  effect(() => {
    const l = state.listener.value;
    const roster = state.roster.value;
    if (l.status !== 'live') {
      lastKey = '';
      return;
    }
    const key = listenTarget(roster, roster.sessions[l.session_id]).key;
    if (lastKey !== '' && key !== lastKey) listener.refresh();
    lastKey = key;
  });

  // The opened session's transcript history (lines spoken before the page loaded), once per session.
  const history = createTranscriptHistory(browserFetch, transcripts);
  let historyAsked: string | null = null;
  effect(() => {
    const selected = state.selected.value;
    const s = selected ? state.roster.value.sessions[selected] : undefined;
    if (state.auth.value.kind !== 'signed-in' || !s || s.session_id === historyAsked) return;
    historyAsked = s.session_id;
    history.load(s).catch((error: unknown) => notify('error', `Transcript history: ${(error as Error).message}`));
  });

  // Keep a selection: the first live session when none (or a vanished one) is selected.
  effect(() => {
    const auth = state.auth.value;
    const roster = state.roster.value;
    const now = state.now.value;
    if (auth.kind !== 'signed-in') return;
    const selected = state.selected.peek();
    const groups = groupSessions(roster, auth.session);
    const visible = groups.some((t) => t.guilds.some((g) => g.sessions.some((s) => s.session_id === selected)));
    if (!visible) state.selected.value = firstLiveSession(groups, now);
  });

  let bus: BusConnection | undefined;
  const analysis = createAnalysis({ state, graph, listener, fetch: browserFetch, bus: () => bus, notify });
  receiverHook = analysis.attachReceiver;

  installTestHooks({
    analysis: analysis.hooks,
    tracks: () => graph.tracks(),
    analyse: (userId, hz) => graph.analyse(userId, hz),
    status: () => {
      const l = state.listener.peek();
      return { bus: state.bus.peek(), audio: l.status, session_id: l.status === 'idle' ? null : l.session_id };
    },
  });

  let ticker: ReturnType<typeof setInterval> | undefined;

  function signOut(message: string): void {
    listener.stop();
    bus?.close();
    bus = undefined;
    clearInterval(ticker);
    state.auth.value = { kind: 'signed-out', message };
  }

  let checking = false;
  async function checkSignIn(): Promise<void> {
    if (checking) return;
    checking = true;
    try {
      const result = await signIn(browserFetch, null);
      if (result.kind === 'signed-out') signOut(`Your sign-in has ended. ${SIGN_IN_HINT}`);
    } finally {
      checking = false;
    }
  }

  function connectBus(session: SessionInfo): void {
    const b = new BusConnection({ url: busUrl(location.href) });
    bus = b;
    // Transcripts first: the hub handles one socket's subscriptions in order, so once roster news
    // arrives the transcript subscription is in place too (the end-to-end test relies on it).
    b.subscribe(intentPattern(session.tenant, TRANSCRIPT_INTENT));
    b.subscribe(intentPattern(session.tenant, FLAG_INTENT));
    for (const intent of ROSTER_INTENTS) b.subscribe(intentPattern(session.tenant, intent));
    b.on('status', (status) => {
      state.bus.value = status;
      if (status === 'reconnecting' && b.failures > 0 && b.failures % AUTH_CHECK_EVERY === 0) void checkSignIn();
    });
    b.on('envelope', (env) => (state.roster.value = reduceRoster(state.roster.peek(), env, Date.now())));
    b.on('envelope', (env) => {
      if (env.intent === TRANSCRIPT_INTENT) transcripts.receive(env, Date.now());
      else if (env.intent === FLAG_INTENT) flags.receive(env);
    });
    // Flags raised while the socket was down are not replayed by the bus: list them again once it is open.
    b.on('status', (status) => {
      if (status === 'open') void flags.load();
    });
    b.on('error', (env) => {
      const p = env.payload as { code?: unknown; message?: unknown };
      notify('error', `Bus: ${typeof p.message === 'string' ? p.message : 'error'}${typeof p.code === 'string' ? ` (${p.code})` : ''}`);
    });
    b.connect();
    ticker = setInterval(() => {
      const now = Date.now();
      const l = state.listener.peek();
      batch(() => {
        state.now.value = now;
        state.roster.value = pruneRoster(state.roster.peek(), now, FORGET_AFTER_MS, l.status === 'idle' ? null : l.session_id);
      });
    }, 1000);
  }

  const updatePrefs = (userId: string, change: (p: SpeakerPrefs) => Partial<SpeakerPrefs>): void => {
    const all = state.prefs.peek();
    const p = all[userId] ?? defaultSpeakerPrefs;
    state.prefs.value = { ...all, [userId]: { ...p, ...change(p) } };
  };

  const actions: ConsoleActions = {
    select: (sessionId) => (state.selected.value = sessionId),
    toggleListen: (sessionId) => {
      graph.unlock(); // the click is the user gesture the AudioContext and autoplay want
      const l = listener.state;
      const here = l.status !== 'idle' && l.status !== 'error' && l.session_id === sessionId;
      if (here) listener.stop();
      else listener.start(sessionId);
    },
    setVolume: (userId, volume) => updatePrefs(userId, () => ({ volume })),
    toggleMute: (userId) => updatePrefs(userId, (p) => ({ muted: !p.muted })),
    toggleSolo: (userId) => updatePrefs(userId, (p) => ({ solo: !p.solo })),
    enableAudio: () => graph.unlock(),
    dismissNotice: (id) => (state.notices.value = state.notices.peek().filter((n) => n.id !== id)),
  };

  async function start(loginToken: string | null): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let result = await signIn(browserFetch, loginToken);
      // A retried login token may have been used by the attempt that got no answer: its cookie tells.
      if (result.kind === 'signed-out' && loginToken && attempt > 0) result = await signIn(browserFetch, null);
      if (result.kind === 'signed-in') {
        state.auth.value = result;
        connectBus(result.session);
        return;
      }
      if (result.kind === 'signed-out' || !result.retryable) {
        state.auth.value = result;
        return;
      }
      // The server is not up (yet): say so and keep trying.
      state.auth.value = { kind: 'error', message: `${result.message} Retrying…` };
      await new Promise((r) => setTimeout(r, backoffDelay(attempt)));
    }
  }

  return { state, actions, analysis: { state: analysis.state, actions: analysis.actions }, transcripts, flags, start };
}
