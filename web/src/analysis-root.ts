/**
 * Wires the browser-side analysis to the console: replay capture on every speaker's receiver, the
 * analysis worker on every speaker's source, the per-guild replay/export policy, evidence export,
 * replay, PNG export and VAD segments (published on the bus only under the stream's `dsp:` grant,
 * otherwise shown here). The media and the UI stay unaware of each other.
 */
import { effect } from '@preact/signals';
import { ApiError, errorMessage } from './errors.ts';
import { AnalysisHost, VIEW_COLUMNS } from './dsp/analysis.ts';
import { DspRunner, dspOffloadEnabled, segmentClock } from './dsp/offload.ts';
import type { BrowserSegment, Peek, AnalysisStats } from './dsp/analysis-protocol.ts';
import type { AudioGraph } from './media/audio-graph.ts';
import type { Listener } from './media/listener.ts';
import type { BusConnection } from './net/bus.ts';
import { VoiceRelayAnchor } from '@promethean/shared';
import { requestJson, type FetchLike } from './net/http.ts';
import { captureSupported, ReplayCapture } from './replay/capture.ts';
import { decodeClip } from './replay/decode.ts';
import { buildEvidence, download, type EvidenceSidecar } from './replay/evidence.ts';
import { frameToNs } from './replay/playout-clock.ts';
import type { CaptureStats } from './replay/protocol.ts';
import { createAnalysisState, type AnalysisModel, type EvidencePolicy } from './state/analysis.ts';
import type { ConsoleState } from './state/store.ts';
import { userName } from './state/select.ts';

/** Samples between spectrogram columns at 48 kHz (10 ms). */
const HOP = 480;
const SEGMENTS_KEPT = 20;

export interface AnalysisDeps {
  state: ConsoleState;
  graph: AudioGraph;
  listener: Listener;
  fetch: FetchLike;
  bus: () => BusConnection | undefined;
  notify: (tone: 'error' | 'info', text: string) => void;
}

export interface AnalysisTestHooks {
  peek(userId: string, hz: number): Promise<Peek | null>;
  stats(): Promise<AnalysisStats | null>;
  capture(): CaptureStats[];
  segments(userId: string): BrowserSegment[];
  lastExport(): EvidenceSidecar | null;
  /** Why capture is off (null when on) and how many speakers' receivers it holds. */
  diag(): Promise<{ unsupported: string | null; receivers: number; capture: unknown; bad_anchors: number }>;
}

export function createAnalysis(deps: AnalysisDeps): AnalysisModel & { hooks: AnalysisTestHooks; attachReceiver: (userId: string, mid: string, receiver: RTCRtpReceiver) => void } {
  const { state: cs, graph, listener } = deps;
  const a = createAnalysisState();
  let capture: ReplayCapture | undefined;
  if (captureSupported()) capture = new ReplayCapture();
  else a.unsupported.value = 'This browser cannot capture received audio (no RTCRtpScriptTransform): replay and evidence clips are off.';
  const host = new AnalysisHost();
  const receivers = new Map<string, RTCRtpReceiver>();
  let pausedAt: number | null = null;
  let lastExport: EvidenceSidecar | null = null;

  // Receivers for the clock mapping; capture itself attaches earlier, through attachReceiver().
  listener.on('tracks', (tracks) => {
    receivers.clear();
    for (const t of tracks) if (t.receiver) receivers.set(t.user_id, t.receiver);
  });
  const attachReceiver = (userId: string, mid: string, receiver: RTCRtpReceiver): void => {
    try {
      capture?.attach(userId, mid, receiver);
    } catch (error) {
      a.unsupported.value = `Replay capture failed: ${errorMessage(error)}`;
    }
  };
  graph.on('attached', (userId, source) => void host.add(userId, source).catch((e: unknown) => deps.notify('error', `Analysis: ${errorMessage(e)}`)));
  graph.on('detached', (userId) => host.remove(userId));

  host.on('speaking', (userId, speaking) => (a.vadSpeaking.value = { ...a.vadSpeaking.peek(), [userId]: speaking }));
  host.on('segment', (seg) => {
    const all = a.segments.peek();
    a.segments.value = { ...all, [seg.user_id]: [...(all[seg.user_id] ?? []), seg].slice(-SEGMENTS_KEPT) };
    publishSegment(seg);
  });

  /** This tab as a DSP runner: it takes `dsp:` leases from the offload scheduler and publishes those streams' segments. */
  const runner = new DspRunner();
  let sid: string | null = null;
  let asking = false;
  const bindRunner = (): void => {
    const auth = cs.auth.peek();
    if (auth.kind !== 'signed-in') return runner.bind(undefined, null, null);
    if (sid === null && !asking) {
      asking = true;
      requestJson<{ sid?: unknown }>(deps.fetch, '/api/me').then(
        (me) => ((sid = typeof me?.sid === 'string' ? me.sid : null), (asking = false), bindRunner()),
        () => (asking = false),
      );
    }
    runner.bind(deps.bus(), sid, auth.session.tenant);
  };
  // Opt-in (dspOffloadEnabled says why): `?dsp-offload` in the address, or `promethean.dsp-offload` =
  // `on` in local storage. The runner then offers capacity only while this tab's session clock runs on
  // the relay's anchors, so its segment times are on the bridge's clock that the STT worker cuts audio by.
  if (dspOffloadEnabled(location.search, localStorage.getItem('promethean.dsp-offload'))) {
    setInterval(bindRunner, 1000);
    addEventListener('pagehide', () => runner.leave());
  }
  function publishSegment(seg: BrowserSegment): void {
    const l = cs.listener.peek();
    if (l.status === 'idle') return;
    const clock = segmentClock(a.capture.peek().find((x) => x.user_id === seg.user_id), seg);
    if (runner.publish(l.session_id, seg, clock)) a.published.value++; // no lease: shown here only
  }

  // The relay's clock anchors (`voice.relay.anchor`) for the speakers of the session listened to:
  // they put the capture worker's session clock, and so replay, evidence and VAD segment times, on
  // the bridge's clock (docs/dsp.md "The browser's session clock").
  let anchorBus: BusConnection | undefined;
  let anchorOff: (() => void) | undefined;
  let badAnchors = 0;
  const bindAnchors = (): void => {
    const b = deps.bus();
    const auth = cs.auth.peek();
    if (b === anchorBus || auth.kind !== 'signed-in') return;
    anchorOff?.();
    anchorOff = undefined;
    anchorBus = b;
    if (!b) return;
    b.subscribe(`promethean.p.*.t.${auth.session.tenant ?? '*'}.voice.relay.anchor`);
    anchorOff = b.on('envelope', (env) => {
      if (env.intent !== 'voice.relay.anchor' || !capture) return;
      const parsed = VoiceRelayAnchor.safeParse(env.payload);
      if (!parsed.success) return void badAnchors++;
      const l = cs.listener.peek();
      if (l.status === 'idle' || l.session_id !== parsed.data.session_id) return;
      void capture.relayAnchor(parsed.data.user_id, parsed.data.rtp_timestamp, BigInt(parsed.data.ts_monotonic_ns)).catch(() => undefined);
    });
  };

  // Capture stats and the clock pairs, once a second.
  setInterval(() => {
    if (!capture) return;
    bindAnchors();
    capture.stats().then(
      (stats) => {
        a.capture.value = stats;
        host.updateClocks(stats, receivers);
        runner.setRelayClock(stats.some((x) => x.clock === 'relay'));
      },
      () => undefined,
    );
  }, 1000);

  // The selected session's guild policy.
  let policyGuild: string | null = null;
  effect(() => {
    const id = cs.selected.value;
    const s = id ? cs.roster.value.sessions[id] : undefined;
    const guild = s?.guild_id ?? null;
    if (guild === policyGuild) return;
    policyGuild = guild;
    if (!guild) return;
    requestJson<EvidencePolicy & { guild_id: string }>(deps.fetch, `/api/evidence/policy?guild_id=${encodeURIComponent(guild)}`).then(
      (p) => p && policyGuild === guild && applyPolicy({ replay: p.replay, export: p.export }),
      () => undefined,
    );
  });
  function applyPolicy(p: EvidencePolicy): void {
    a.policy.value = p;
    void capture?.setEnabled(p.replay).catch(() => undefined);
  }

  /** The view's end as an AudioContext frame. */
  const endFrame = (): number => (pausedAt ?? host.now()) - Math.round(a.backSeconds.peek() * host.sampleRate);
  const spanNs = (userId: string): [bigint, bigint] | undefined => {
    const pair = host.clock(userId);
    if (!pair) return undefined;
    const endNs = frameToNs(pair, endFrame(), host.sampleRate);
    // Exactly the view's length (6 s), whatever the rounding of its end.
    return [endNs - (BigInt(VIEW_COLUMNS * HOP) * 1_000_000_000n) / BigInt(host.sampleRate), endNs];
  };
  const pushView = () => host.view(a.paused.peek(), a.paused.peek() || a.backSeconds.peek() > 0 ? host.now() - endFrame() : 0);

  const run = (label: string, job: () => Promise<void>): void => {
    if (a.busy.peek()) return;
    a.busy.value = label;
    a.message.value = null;
    job().then(
      () => (a.busy.value = null),
      (e: unknown) => {
        a.busy.value = null;
        const msg = e instanceof ApiError && e.code === 'export_disabled' ? 'An owner turned evidence export off for this guild.' : errorMessage(e);
        a.message.value = `${label} failed: ${msg}`;
      },
    );
  };

  let replayCtx: AudioContext | undefined;
  let canvas: HTMLCanvasElement | undefined;
  const model: AnalysisModel = {
    state: a,
    actions: {
      attachCanvas: (container) => {
        if (!canvas) {
          canvas = document.createElement('canvas');
          canvas.className = 'an-canvas';
          canvas.setAttribute('aria-label', 'Live spectrograms, one lane per speaker, newest on the right');
          host.attachCanvas(canvas, 48_000);
        }
        if (canvas.parentElement !== container) container.append(canvas);
        return canvas;
      },
      layout: (order, width, laneHeight, gap) => host.layout(order, width, laneHeight, gap),
      setPaused: (paused) => {
        pausedAt = paused ? host.now() : null;
        a.paused.value = paused;
        if (!paused) a.backSeconds.value = 0;
        pushView();
      },
      setBack: (seconds) => {
        a.backSeconds.value = Math.max(0, Math.min(294, seconds));
        if (!a.paused.peek()) {
          pausedAt = host.now();
          a.paused.value = true;
        }
        pushView();
      },
      setSpectro: (settings) => {
        a.spectro.value = { ...a.spectro.peek(), ...settings };
        void host.spectro(settings).catch((e: unknown) => (a.message.value = errorMessage(e)));
      },
      setVadThreshold: (threshold) => {
        const t = Math.max(0.05, Math.min(0.95, threshold));
        a.vadThreshold.value = t;
        void host.vad({ positiveThreshold: t, negativeThreshold: Math.max(0, t - 0.15) }).catch((e: unknown) => (a.message.value = errorMessage(e)));
      },
      replay: (userId) =>
        run('Replay', async () => {
          if (!capture || !a.policy.peek().replay) throw new Error('replay is off');
          const span = spanNs(userId);
          if (!span) throw new Error('no audio mapped for this speaker yet');
          const decoded = await decodeClip(await capture.clip(userId, span[0], span[1]));
          replayCtx ??= new AudioContext({ sampleRate: decoded.sampleRate });
          const buf = replayCtx.createBuffer(1, decoded.samples.length, decoded.sampleRate);
          buf.copyToChannel(decoded.samples, 0);
          const src = replayCtx.createBufferSource();
          src.buffer = buf;
          src.connect(replayCtx.destination);
          await replayCtx.resume();
          src.start();
        }),
      exportClip: (userId) =>
        run('Export', async () => {
          if (!capture) throw new Error('replay capture is not available in this browser');
          if (!a.policy.peek().export) throw new Error('export is off for this guild');
          const auth = cs.auth.peek();
          const l = cs.listener.peek();
          if (auth.kind !== 'signed-in' || l.status === 'idle') throw new Error('not listening');
          const roster = cs.roster.peek();
          const s = roster.sessions[l.session_id];
          if (!s?.guild_id || !s.channel_id) throw new Error('the session has no guild or channel yet');
          const span = spanNs(userId);
          if (!span) throw new Error('no audio mapped for this speaker yet');
          const stat = a.capture.peek().find((x) => x.user_id === userId);
          const clip = await buildEvidence(
            deps.fetch,
            capture,
            { tenant: s.tenant, session_id: s.session_id, guild_id: s.guild_id, channel_id: s.channel_id, user_id: userId, speaker_name: userName(roster, userId) },
            span[0],
            span[1],
            stat?.clock ?? null,
          );
          lastExport = clip.sidecar;
          download(clip.sidecar.audio.file, new Blob([clip.wav], { type: 'audio/wav' }));
          download(clip.sidecar.audio.file.replace(/\.wav$/, '.json'), new Blob([JSON.stringify(clip.sidecar, null, 2)], { type: 'application/json' }));
          a.message.value = `Exported ${clip.sidecar.audio.file} (sha256 ${clip.sidecar.audio.sha256.slice(0, 12)}…), on record in the audit log.`;
        }),
      exportPng: (userId) =>
        run('PNG', async () => {
          const blob = await host.png(userId);
          download(`spectrogram-${userId ?? 'all'}-${new Date().toISOString().replace(/[:.]/g, '-')}.png`, blob);
        }),
      setPolicy: (p) =>
        run('Policy', async () => {
          const guild = policyGuild;
          if (!guild) throw new Error('no guild selected');
          const r = await requestJson<EvidencePolicy>(deps.fetch, '/api/evidence/policy', { method: 'PUT', body: { guild_id: guild, ...p } });
          if (r) applyPolicy({ replay: r.replay, export: r.export });
        }),
    },
  };
  return {
    ...model,
    attachReceiver,
    hooks: {
      peek: (u, hz) => host.peek(u, hz),
      stats: () => host.stats(),
      capture: () => a.capture.peek(),
      segments: (u) => a.segments.peek()[u] ?? [],
      lastExport: () => lastExport,
      diag: async () => ({ unsupported: a.unsupported.peek(), receivers: receivers.size, capture: await capture?.diag(), bad_anchors: badAnchors }),
    },
  };
}
