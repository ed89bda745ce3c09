/**
 * What the moderator hears, and the levels. Each speaker's track plays through its own hidden
 * `<audio>` element (browsers decode a remote WebRTC track only when a media element plays it);
 * volume, mute and solo act on that element, so audio is heard exactly once. The same stream feeds
 * a Web Audio AnalyserNode for the level meter, the speaking ring and the spectrum test hook; the
 * analysers end in a silent gain node so every browser keeps pulling them.
 */
import { rmsDbfs, SpeakingDetector, defaultSpeakingOptions, LEVEL_FLOOR_DB, type SpeakingOptions } from '../dsp/level.ts';
import { magnitudeAt } from '../dsp/spectrum.ts';
import { InvalidStateError } from '../errors.ts';
import { Emitter } from '../util/emitter.ts';
import type { SpeakerTrack } from './mids.ts';
import type { SpeakerOutput } from './mix.ts';

export interface AudioGraphOptions {
  /** Analyser FFT size; 4096 resolves ~12 Hz at 48 kHz. */
  fftSize: number;
  /** Analyser smoothing between spectra, 0..1. */
  smoothingTimeConstant: number;
  /** How often levels are measured, in ms (50 = 20 Hz). */
  levelIntervalMs: number;
  speaking: SpeakingOptions;
}

export const defaultAudioGraphOptions: AudioGraphOptions = {
  fftSize: 4096,
  smoothingTimeConstant: 0.5,
  levelIntervalMs: 50,
  speaking: defaultSpeakingOptions,
};

export interface TrackInfo {
  user_id: string;
  mid: string;
  track_id: string;
}

export type AudioGraphEvents = {
  /** A speaker's level (dBFS, rounded) or speaking state changed. */
  level: [user_id: string, db: number, speaking: boolean];
  /** The browser refused to start playback without a click (true), or playback runs (false). */
  blocked: [blocked: boolean];
  /** A speaker's track joined the graph (analysis taps its source). */
  attached: [user_id: string, source: MediaStreamAudioSourceNode];
  /** A speaker's track left the graph. */
  detached: [user_id: string];
};

interface SpeakerAudio {
  user_id: string;
  mid: string;
  track: MediaStreamTrack;
  element: HTMLAudioElement;
  source: MediaStreamAudioSourceNode;
  analyser: AnalyserNode;
  samples: Float32Array<ArrayBuffer>;
  spectrum: Float32Array<ArrayBuffer>;
  detector: SpeakingDetector;
  lastDb: number;
  lastSpeaking: boolean;
}

export class AudioGraph extends Emitter<AudioGraphEvents> {
  readonly options: AudioGraphOptions;
  readonly #speakers = new Map<string, SpeakerAudio>();
  readonly #container: HTMLElement;
  #context: AudioContext | undefined;
  #sink: GainNode | undefined;
  #outputs: Record<string, SpeakerOutput> = {};
  #timer: ReturnType<typeof setInterval> | undefined;
  #blocked = false;
  #closed = false;

  constructor(options: Partial<AudioGraphOptions> = {}) {
    super();
    this.options = { ...defaultAudioGraphOptions, ...options };
    this.#container = document.createElement('div');
    this.#container.id = 'promethean-audio';
    this.#container.hidden = true;
    this.#container.setAttribute('aria-hidden', 'true');
    document.body.append(this.#container);
  }

  /** Call from a click: creates or resumes the AudioContext and retries refused playback. */
  unlock(): void {
    if (this.#closed) return;
    const ctx = this.#ctx();
    if (ctx.state !== 'running') void ctx.resume().catch(() => undefined);
    for (const s of this.#speakers.values()) this.#play(s);
  }

  /** Makes the playing set equal `tracks`: new speakers attached, missing ones detached. */
  sync(tracks: readonly SpeakerTrack<MediaStreamTrack>[]): void {
    if (this.#closed) throw new InvalidStateError('audio graph is closed');
    const wanted = new Map(tracks.map((t) => [t.user_id, t]));
    for (const [id, s] of this.#speakers) {
      const t = wanted.get(id);
      if (!t || t.track !== s.track) this.#detach(id);
    }
    for (const t of tracks) if (!this.#speakers.has(t.user_id)) this.#attach(t);
    if (this.#speakers.size > 0 && this.#timer === undefined) this.#timer = setInterval(() => this.#measure(), this.options.levelIntervalMs);
    if (this.#speakers.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      this.#setBlocked(false);
    }
  }

  setOutputs(outputs: Record<string, SpeakerOutput>): void {
    this.#outputs = outputs;
    for (const s of this.#speakers.values()) this.#applyOutput(s);
  }

  tracks(): TrackInfo[] {
    return [...this.#speakers.values()].map((s) => ({ user_id: s.user_id, mid: s.mid, track_id: s.track.id }));
  }

  /** Magnitude (dB) at `hz` in the speaker's analyser spectrum; −∞ when the speaker has no track. */
  analyse(userId: string, hz: number): number {
    const s = this.#speakers.get(userId);
    if (!s || !this.#context) return Number.NEGATIVE_INFINITY;
    s.analyser.getFloatFrequencyData(s.spectrum);
    return magnitudeAt(s.spectrum, this.#context.sampleRate, s.analyser.fftSize, hz);
  }

  close(): void {
    if (this.#closed) return;
    this.sync([]);
    this.#closed = true;
    this.#container.remove();
    void this.#context?.close().catch(() => undefined);
    this.#context = undefined;
  }

  #ctx(): AudioContext {
    if (!this.#context) {
      // 48 kHz, Opus's own rate: the analysis and the session clock count frames at this rate.
      const ctx = new AudioContext({ sampleRate: 48_000 });
      const sink = ctx.createGain();
      sink.gain.value = 0;
      sink.connect(ctx.destination);
      this.#context = ctx;
      this.#sink = sink;
    }
    return this.#context;
  }

  #attach(t: SpeakerTrack<MediaStreamTrack>): void {
    const ctx = this.#ctx();
    const stream = new MediaStream([t.track]);
    const element = document.createElement('audio');
    element.autoplay = true;
    element.muted = false;
    element.setAttribute('playsinline', '');
    element.dataset.speaker = t.user_id; // not data-user-id: that one marks the speaker tiles
    element.dataset.mid = t.mid;
    element.srcObject = stream;
    this.#container.append(element);
    const source = ctx.createMediaStreamSource(stream);
    const analyser = ctx.createAnalyser();
    analyser.fftSize = this.options.fftSize;
    analyser.smoothingTimeConstant = this.options.smoothingTimeConstant;
    source.connect(analyser);
    analyser.connect(this.#sink!);
    const s: SpeakerAudio = {
      user_id: t.user_id,
      mid: t.mid,
      track: t.track,
      element,
      source,
      analyser,
      samples: new Float32Array(analyser.fftSize),
      spectrum: new Float32Array(analyser.frequencyBinCount),
      detector: new SpeakingDetector(this.options.speaking),
      lastDb: LEVEL_FLOOR_DB,
      lastSpeaking: false,
    };
    this.#speakers.set(t.user_id, s);
    this.#applyOutput(s);
    this.#play(s);
    this.emit('attached', t.user_id, source);
  }

  #detach(userId: string): void {
    const s = this.#speakers.get(userId);
    if (!s) return;
    this.#speakers.delete(userId);
    s.source.disconnect();
    s.analyser.disconnect();
    s.element.pause();
    s.element.srcObject = null;
    s.element.remove();
    if (s.lastDb !== LEVEL_FLOOR_DB || s.lastSpeaking) this.emit('level', userId, LEVEL_FLOOR_DB, false);
    this.emit('detached', userId);
  }

  #applyOutput(s: SpeakerAudio): void {
    const o = this.#outputs[s.user_id] ?? { volume: 1, muted: false };
    s.element.volume = o.volume;
    s.element.muted = o.muted;
  }

  #play(s: SpeakerAudio): void {
    s.element.play().then(
      () => this.#setBlocked(false),
      (error: unknown) => {
        if ((error as { name?: string } | null)?.name === 'NotAllowedError' && this.#speakers.get(s.user_id) === s) this.#setBlocked(true);
      },
    );
  }

  #setBlocked(blocked: boolean): void {
    if (this.#blocked === blocked) return;
    this.#blocked = blocked;
    this.emit('blocked', blocked);
  }

  #measure(): void {
    const now = performance.now();
    for (const s of this.#speakers.values()) {
      s.analyser.getFloatTimeDomainData(s.samples);
      const db = Math.round(rmsDbfs(s.samples));
      const speaking = s.detector.update(db, now);
      if (db === s.lastDb && speaking === s.lastSpeaking) continue;
      s.lastDb = db;
      s.lastSpeaking = speaking;
      this.emit('level', s.user_id, db, speaking);
    }
  }
}
