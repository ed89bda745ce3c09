/**
 * The page's side of the analysis: loads the `pcm-tap` worklet, gives each speaker's source a tap
 * whose ports go straight to the two analysis workers (spectrograms; VAD — each its own thread),
 * hands the spectrogram canvas to its worker once,
 * keeps each speaker's (AudioContext frame, session ns) pair fresh, and relays requests.
 */
import type { VadSettings } from '@promethean/shared';
import workletUrl from './pcm-tap.worklet.ts?worker&url';
import { InvalidStateError } from '../errors.ts';
import { Emitter } from '../util/emitter.ts';
import type { AnalysisRequest, AnalysisResponse, AnalysisStats, BrowserSegment, Peek, SpectroSettings } from './analysis-protocol.ts';
import { playoutPair, type ClockPair } from '../replay/playout-clock.ts';
import type { CaptureStats } from '../replay/protocol.ts';

export type AnalysisEvents = {
  segment: [segment: BrowserSegment];
  speaking: [user_id: string, speaking: boolean];
};

type DistributiveOmit<T, K extends keyof never> = T extends unknown ? Omit<T, K> : never;

/** Columns in the visible window (10 ms each: 6 s). */
export const VIEW_COLUMNS = 600;

export class AnalysisHost extends Emitter<AnalysisEvents> {
  readonly #worker: Worker;
  readonly #vad: Worker;
  readonly #pending = new Map<number, { resolve: (r: AnalysisResponse) => void; reject: (e: Error) => void }>();
  readonly #taps = new Map<string, AudioWorkletNode>();
  readonly #clocks = new Map<string, ClockPair>();
  #ctx: AudioContext | undefined;
  #loaded: Promise<void> | undefined;
  #seq = 0;
  #canvasSent = false;
  #closed = false;

  constructor() {
    super();
    this.#worker = new Worker(new URL('./analysis.worker.ts', import.meta.url), { type: 'module', name: 'spectrogram' });
    this.#vad = new Worker(new URL('./analysis.worker.ts', import.meta.url), { type: 'module', name: 'vad' });
    this.#vad.postMessage({ type: 'init', id: ++this.#seq, role: 'vad', canvas: null, sampleRate: 48_000, columns: VIEW_COLUMNS } satisfies AnalysisRequest);
    this.#worker.onmessage = this.#vad.onmessage = (ev: MessageEvent<AnalysisResponse>) => {
      const m = ev.data;
      if (m.type === 'segment') return this.emit('segment', m.segment);
      if (m.type === 'speaking') return this.emit('speaking', m.user_id, m.speaking);
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      if (m.type === 'error') p.reject(new Error(m.message));
      else p.resolve(m);
    };
  }

  get sampleRate(): number {
    return this.#ctx?.sampleRate ?? 48_000;
  }

  /** The speaker's (frame, ns) pair, once known. */
  clock(userId: string): ClockPair | undefined {
    return this.#clocks.get(userId);
  }

  /** The AudioContext's current frame. */
  now(): number {
    return this.#ctx ? Math.round(this.#ctx.currentTime * this.#ctx.sampleRate) : 0;
  }

  /** Hands the canvas to the worker (once; later calls are ignored). */
  attachCanvas(canvas: HTMLCanvasElement, sampleRate: number): void {
    if (this.#canvasSent || this.#closed) return;
    this.#canvasSent = true;
    const off = canvas.transferControlToOffscreen();
    this.#worker.postMessage({ type: 'init', id: ++this.#seq, role: 'spectro', canvas: off, sampleRate, columns: VIEW_COLUMNS } satisfies AnalysisRequest, [off]);
  }

  /** Starts analysing a speaker's source (its AudioContext is the graph's). */
  async add(userId: string, source: MediaStreamAudioSourceNode): Promise<void> {
    if (this.#closed) throw new InvalidStateError('analysis closed');
    const ctx = source.context as AudioContext;
    this.#ctx = ctx;
    this.#loaded ??= ctx.audioWorklet.addModule(workletUrl);
    await this.#loaded;
    if (this.#closed) return;
    this.remove(userId);
    const node = new AudioWorkletNode(ctx, 'pcm-tap', { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1], processorOptions: { batch: 1024 } });
    const channel = new MessageChannel();
    const vadChannel = new MessageChannel();
    node.port.postMessage({ port: channel.port1 }, [channel.port1]);
    node.port.postMessage({ port: vadChannel.port1 }, [vadChannel.port1]);
    source.connect(node);
    // The tap must reach the destination to be pulled; its output is silence through a muted gain.
    const mute = ctx.createGain();
    mute.gain.value = 0;
    node.connect(mute).connect(ctx.destination);
    this.#taps.set(userId, node);
    this.#post({ type: 'add', user_id: userId, port: channel.port2 }, [channel.port2]);
    this.#vad.postMessage({ type: 'add', id: ++this.#seq, user_id: userId, port: vadChannel.port2 } satisfies AnalysisRequest, [vadChannel.port2]);
  }

  remove(userId: string): void {
    const node = this.#taps.get(userId);
    if (!node) return;
    node.port.postMessage({ stop: true });
    node.disconnect();
    this.#taps.delete(userId);
    this.#clocks.delete(userId);
    this.#post({ type: 'remove', user_id: userId });
    this.#vad.postMessage({ type: 'remove', id: ++this.#seq, user_id: userId } satisfies AnalysisRequest);
  }

  /** Refreshes each speaker's (frame, ns) pair from the capture stats and the receivers. */
  updateClocks(stats: readonly CaptureStats[], receivers: ReadonlyMap<string, RTCRtpReceiver>): void {
    const ctx = this.#ctx;
    if (!ctx) return;
    const output = ctx.getOutputTimestamp();
    if (output.contextTime === undefined || output.performanceTime === undefined) return;
    for (const s of stats) {
      const receiver = receivers.get(s.user_id);
      if (!receiver || !s.newest || !this.#taps.has(s.user_id)) continue;
      const sync = receiver.getSynchronizationSources().find((x) => x.source === s.newest!.ssrc) ?? receiver.getSynchronizationSources()[0];
      if (!sync || typeof sync.rtpTimestamp !== 'number') continue;
      const pair = playoutPair({
        newest: { rtp: s.newest.rtp, ns: BigInt(s.newest.ns) },
        sync: { rtpTimestamp: sync.rtpTimestamp, timestamp: sync.timestamp },
        timeOriginMs: performance.timeOrigin,
        output: { contextTime: output.contextTime, performanceTime: output.performanceTime },
        sampleRate: ctx.sampleRate,
      });
      this.#clocks.set(s.user_id, pair);
      this.#vad.postMessage({ type: 'clock', id: ++this.#seq, user_id: s.user_id, frame: pair.frame, ns: pair.ns.toString() } satisfies AnalysisRequest);
    }
  }

  layout(order: string[], width: number, laneHeight: number, gap: number): void {
    this.#post({ type: 'layout', order, width, laneHeight, gap });
  }

  view(paused: boolean, backFrames: number): void {
    this.#post({ type: 'view', paused, back_frames: backFrames });
  }

  async spectro(settings: Partial<SpectroSettings>): Promise<void> {
    await this.request({ type: 'spectro', settings });
  }

  async vad(settings: Partial<VadSettings>): Promise<void> {
    await this.request({ type: 'vad', settings }, [], this.#vad);
  }

  async png(userId: string | null): Promise<Blob> {
    const r = await this.request({ type: 'png', user_id: userId });
    if (r.type !== 'png') throw new Error('no PNG');
    return r.blob;
  }

  /** The spectrogram's newest column, with the VAD's counts for the same speaker. */
  async peek(userId: string, hz: number): Promise<Peek | null> {
    const [r, v] = await Promise.all([this.request({ type: 'peek', user_id: userId, hz }), this.request({ type: 'peek', user_id: userId, hz }, [], this.#vad)]);
    if (r.type !== 'peek' || !r.peek) return null;
    const vp = v.type === 'peek' ? v.peek : null;
    return { ...r.peek, segments: vp?.segments ?? 0, speaking: vp?.speaking ?? false, vad_windows: vp?.vad_windows ?? 0 };
  }

  /** Frame timings from the spectrogram worker, VAD timings from the VAD worker. */
  async stats(): Promise<AnalysisStats | null> {
    const [r, v] = await Promise.all([this.request({ type: 'stats' }), this.request({ type: 'stats' }, [], this.#vad)]);
    if (r.type !== 'stats' || v.type !== 'stats') return null;
    return { ...r.stats, vad_ms_mean: v.stats.vad_ms_mean, vad_ms_max: v.stats.vad_ms_max, vad_windows: v.stats.vad_windows, vad: v.stats.vad, vad_error: v.stats.vad_error };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.#taps.keys()]) this.remove(id);
    this.#worker.terminate();
    this.#vad.terminate();
    for (const p of this.#pending.values()) p.reject(new InvalidStateError('analysis closed'));
    this.#pending.clear();
  }

  request(m: DistributiveOmit<AnalysisRequest, 'id'>, transfer: Transferable[] = [], worker: Worker = this.#worker): Promise<AnalysisResponse> {
    if (this.#closed) return Promise.reject(new InvalidStateError('analysis closed'));
    if (this.#pending.size >= 256) return Promise.reject(new Error('too many requests to the analysis worker'));
    const id = ++this.#seq;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ ...m, id } as AnalysisRequest, transfer);
    });
  }

  #post(m: DistributiveOmit<AnalysisRequest, 'id'>, transfer: Transferable[] = []): void {
    if (this.#closed) return;
    this.#worker.postMessage({ ...m, id: ++this.#seq } as AnalysisRequest, transfer);
  }
}
