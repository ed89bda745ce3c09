/**
 * The analysis worker, run as two instances (two threads) chosen by `init.role`: per speaker, PCM from
 * that speaker's `pcm-tap` worklet arrives on its own MessagePort (never through the main thread).
 * The `spectro` instance turns it into spectrogram columns (shared STFT and mel kernels) drawn on the
 * page's canvas through WebGL2 (an OffscreenCanvas handed over once); the `vad` instance into Silero
 * VAD probabilities (onnxruntime-web) and segments (the shared `VadSegmenter`). One thread for both
 * starved one or the other on a busy machine (measured: `promethean bench console-dsp`). Segments go
 * to the page, which publishes them or shows them.
 */
import { Resampler, SileroFramer, SILERO_FRAME_SAMPLES, SILERO_SAMPLE_RATE, VadSegmenter, type VadSettings } from '@promethean/shared';
import type { AnalysisRequest, AnalysisResponse, AnalysisRole, AnalysisStats, BrowserSegment, Peek, SpectroSettings } from './analysis-protocol.ts';
import { defaultSpectroSettings } from './analysis-protocol.ts';
import { ColumnHistory, ColumnProcessor } from './columns.ts';
import { SileroOrt } from './silero-ort.ts';
import { SpectroGl } from './spectro-gl.ts';

interface Scope {
  onmessage: ((ev: MessageEvent<AnalysisRequest>) => void) | null;
  postMessage(m: AnalysisResponse): void;
  requestAnimationFrame?: (cb: () => void) => number;
}
const scope = self as unknown as Scope;

/** Queued Silero windows per speaker before the oldest are dropped (2 s). */
const MAX_VAD_QUEUE = 64;
/** Speakers analysed at once. */
const MAX_LANES = 32;

interface Lane {
  user_id: string;
  port: MessagePort;
  cols: ColumnProcessor;
  hist: ColumnHistory;
  /** AudioContext frame of the first sample fed; null before any. */
  firstFrame: number | null;
  /** Frame just after the newest sample fed. */
  endFrame: number;
  resampler: Resampler;
  framer: SileroFramer;
  state: Float32Array;
  segmenter: VadSegmenter;
  queue: { input: Float32Array; rms: number }[];
  pumping: boolean;
  speaking: boolean;
  segments: number;
  vadWindows: number;
  dropped: number;
  clock: { frame: number; ns: bigint } | null;
  startFrame: number;
}

let sampleRate = 48_000;
let columns = 600;
let canvas: OffscreenCanvas | undefined;
let gl: SpectroGl | undefined;
let renderer = 'none';
let spectro: SpectroSettings = { ...defaultSpectroSettings };
let vadSettings: Partial<VadSettings> = {};
const lanes = new Map<string, Lane>();
let layout = { order: [] as string[], width: 600, laneHeight: 96, gap: 6 };
let view = { paused: false, back_frames: 0 };
let dirty = true;
let silero: SileroOrt | undefined;
let vadStatus: AnalysisStats['vad'] = 'loading';
let vadError: string | null = null;
const timing = { vadSum: 0, vadMax: 0, vadN: 0, frameSum: 0, frameMax: 0, frameN: 0 };

const columnOptions = () => ({ sampleRate, nFft: 1024, hop: Math.round(sampleRate / 100), rows: 128, scale: spectro.scale, fmin: 0, fmax: Math.min(spectro.fmax, sampleRate / 2), rangeDb: spectro.rangeDb });

let role: AnalysisRole = 'spectro';

function loadVad(): void {
 SileroOrt.load().then(
  (s) => {
    silero = s;
    vadStatus = 'ready';
    for (const lane of lanes.values()) void pump(lane);
  },
  (e: unknown) => {
    vadStatus = 'failed';
    vadError = (e as Error).message ?? String(e);
  },
 );
}

function addLane(userId: string, port: MessagePort): void {
  removeLane(userId);
  if (lanes.size >= MAX_LANES) throw new RangeError(`at most ${MAX_LANES} speakers are analysed at once`);
  const cols = new ColumnProcessor(columnOptions(), 16_384);
  const lane: Lane = {
    user_id: userId,
    port,
    cols,
    hist: new ColumnHistory(cols.options.rows, role === 'vad' ? 1 : Math.ceil((5 * 60 * sampleRate) / cols.options.hop)),
    firstFrame: null,
    endFrame: 0,
    resampler: new Resampler(sampleRate, SILERO_SAMPLE_RATE, {}, 16_384),
    framer: new SileroFramer(16_384),
    state: SileroOrt.newState(),
    segmenter: new VadSegmenter(SILERO_FRAME_SAMPLES, SILERO_SAMPLE_RATE, vadSettings),
    queue: [],
    pumping: false,
    speaking: false,
    segments: 0,
    vadWindows: 0,
    dropped: 0,
    clock: null,
    startFrame: 0,
  };
  port.onmessage = (ev: MessageEvent<{ frame: number; samples: Float32Array }>) => onPcm(lane, ev.data.frame, ev.data.samples);
  lanes.set(userId, lane);
  dirty = true;
}

function removeLane(userId: string): void {
  const lane = lanes.get(userId);
  if (!lane) return;
  lane.port.onmessage = null;
  lane.port.close();
  lanes.delete(userId);
  gl?.remove(userId);
  dirty = true;
}

function onPcm(lane: Lane, frame: number, samples: Float32Array): void {
  if (lanes.get(lane.user_id) !== lane) return;
  lane.firstFrame ??= frame;
  lane.endFrame = frame + samples.length;
  if (role === 'vad') {
    for (const f of lane.framer.processInput(lane.resampler.processInput(samples))) {
      if (lane.queue.length >= MAX_VAD_QUEUE) {
        lane.queue.shift();
        lane.dropped++;
      }
      lane.queue.push({ input: f.input.slice(), rms: f.rms });
    }
    void pump(lane);
    return;
  }
  const { count, data } = lane.cols.processInput(samples);
  if (count > 0) {
    lane.hist.push(data, count);
    if (gl && !view.paused) {
      gl.push(lane.user_id, data, count);
      dirty = true;
      // When the worker is busy its timers and animation frames come late: draw from here instead.
      if (performance.now() - lastDraw > 16) {
        lastDraw = performance.now();
        drawNow();
      }
    }
  }
}

async function pump(lane: Lane): Promise<void> {
  if (lane.pumping || !silero) return;
  lane.pumping = true;
  try {
    while (lane.queue.length > 0 && lanes.get(lane.user_id) === lane) {
      const w = lane.queue.shift()!;
      const t0 = performance.now();
      const p = await silero.run(w.input, lane.state);
      const dt = performance.now() - t0;
      timing.vadSum += dt;
      timing.vadN++;
      if (dt > timing.vadMax) timing.vadMax = dt;
      lane.vadWindows++;
      for (const e of lane.segmenter.processInput(p, w.rms)) {
        if (e.type === 'start') {
          lane.startFrame = toFrame(lane, e.startSample);
          setSpeaking(lane, true);
        } else {
          setSpeaking(lane, false);
          lane.segments++;
          const seg = e.segment;
          const start = toFrame(lane, seg.startSample);
          const end = toFrame(lane, seg.endSample);
          const out: BrowserSegment = {
            user_id: lane.user_id,
            index: seg.index,
            ts_start_ns: lane.clock ? frameNs(lane, start).toString() : null,
            ts_end_ns: lane.clock ? frameNs(lane, end).toString() : null,
            start_frame: start,
            end_frame: end,
            energy_rms: seg.energyRms,
            snr: Number.isFinite(seg.snrDb) ? seg.snrDb : 0,
            threshold: lane.segmenter.settings.positiveThreshold,
            silence_ms: lane.segmenter.settings.redemptionMs,
          };
          scope.postMessage({ type: 'segment', segment: out });
        }
      }
    }
  } catch (e) {
    vadStatus = 'failed';
    vadError = (e as Error).message;
  } finally {
    lane.pumping = false;
  }
}

/** AudioContext frame of a 16 kHz sample index of this lane's VAD stream. */
function toFrame(lane: Lane, sample16k: number): number {
  return (lane.firstFrame ?? 0) + Math.round((sample16k * sampleRate) / SILERO_SAMPLE_RATE);
}

/** Session-clock ns of an AudioContext frame, through the page's (frame, ns) pair for this speaker. */
function frameNs(lane: Lane, frame: number): bigint {
  const c = lane.clock!;
  return c.ns + (BigInt(frame - c.frame) * 1_000_000_000n) / BigInt(sampleRate);
}

function setSpeaking(lane: Lane, on: boolean): void {
  if (lane.speaking === on) return;
  lane.speaking = on;
  scope.postMessage({ type: 'speaking', user_id: lane.user_id, speaking: on });
}

/** Rebuilds every lane's window from history, ending `back_frames` before the newest sample. */
function rebuildView(): void {
  if (!gl) return;
  let newest = 0;
  for (const l of lanes.values()) newest = Math.max(newest, l.endFrame);
  const endFrame = newest - view.back_frames;
  for (const l of lanes.values()) {
    const { rows, hop, nFft } = l.cols.options;
    const buf = new Uint8Array(columns * rows);
    if (l.firstFrame !== null) {
      // Column i covers frames [first + i·hop, first + i·hop + nFft).
      const last = Math.floor((endFrame - l.firstFrame - nFft) / hop);
      for (let c = 0; c < columns; c++) {
        const col = l.hist.column(last - (columns - 1 - c));
        if (col) buf.set(col, c * rows);
      }
    }
    gl.replace(l.user_id, buf);
  }
  dirty = true;
}

let lastDraw = 0;
function draw(): void {
  lastDraw = performance.now();
  if (gl && dirty) drawNow();
  if (scope.requestAnimationFrame) scope.requestAnimationFrame(draw);
  else setTimeout(draw, 16);
}

let scheduled = false;
function schedule(): void {
  if (scope.requestAnimationFrame) scope.requestAnimationFrame(draw);
  else setTimeout(draw, 16);
  if (scheduled) return;
  scheduled = true;
  // A worker's animation frames follow the page's; where they stall (a hidden page, headless), draw
  // on a timer instead.
  setInterval(() => {
    if (performance.now() - lastDraw > 50) {
      lastDraw = performance.now();
      if (gl && dirty) drawNow();
    }
  }, 50);
}

function drawNow(): void {
  const t0 = performance.now();
  gl!.draw(layout.order, layout.width, layout.laneHeight, layout.gap);
  const dt = performance.now() - t0;
  timing.frameSum += dt;
  timing.frameN++;
  if (dt > timing.frameMax) timing.frameMax = dt;
  dirty = false;
}

function resize(): void {
  if (!canvas) return;
  const h = Math.max(1, layout.order.length * (layout.laneHeight + layout.gap));
  if (canvas.width !== layout.width || canvas.height !== h) {
    canvas.width = layout.width;
    canvas.height = h;
  }
  dirty = true;
}

function peek(userId: string, hz: number): Peek | null {
  const lane = lanes.get(userId);
  if (!lane) return null;
  if (role === 'vad') {
    return { columns: 0, peak_row: -1, peak_hz: 0, row_of_hz: -1, peak_value: 0, value_at_hz: 0, segments: lane.segments, speaking: lane.speaking, vad_windows: lane.vadWindows };
  }
  if (lane.hist.written === 0) return null;
  const col = lane.hist.column(lane.hist.written - 1)!;
  let peak = 0;
  for (let r = 1; r < col.length; r++) if (col[r]! > col[peak]!) peak = r;
  const row = lane.cols.rowOf(hz);
  return {
    columns: lane.hist.written,
    peak_row: peak,
    peak_hz: lane.cols.rowHz[peak]!,
    row_of_hz: row,
    peak_value: col[peak]!,
    value_at_hz: row >= 0 ? col[row]! : 0,
    segments: lane.segments,
    speaking: lane.speaking,
    vad_windows: lane.vadWindows,
  };
}

async function png(userId: string | null): Promise<Blob> {
  if (!canvas || !gl) throw new Error('no canvas');
  gl.draw(layout.order, layout.width, layout.laneHeight, layout.gap);
  if (userId === null) return canvas.convertToBlob({ type: 'image/png' });
  const i = layout.order.indexOf(userId);
  if (i < 0) throw new Error(`no spectrogram for ${userId}`);
  const crop = new OffscreenCanvas(layout.width, layout.laneHeight);
  crop.getContext('2d')!.drawImage(canvas, 0, i * (layout.laneHeight + layout.gap), layout.width, layout.laneHeight, 0, 0, layout.width, layout.laneHeight);
  return crop.convertToBlob({ type: 'image/png' });
}

function stats(): AnalysisStats {
  const s: AnalysisStats = {
    vad_ms_mean: timing.vadN ? timing.vadSum / timing.vadN : 0,
    vad_ms_max: timing.vadMax,
    vad_windows: timing.vadN,
    frame_ms_mean: timing.frameN ? timing.frameSum / timing.frameN : 0,
    frame_ms_max: timing.frameMax,
    frames: timing.frameN,
    vad: vadStatus,
    vad_error: vadError,
    renderer,
  };
  Object.assign(timing, { vadSum: 0, vadMax: 0, vadN: 0, frameSum: 0, frameMax: 0, frameN: 0 });
  return s;
}

scope.onmessage = (ev) => {
  const m = ev.data;
  const ok = () => scope.postMessage({ type: 'ok', id: m.id });
  try {
    switch (m.type) {
      case 'init': {
        sampleRate = m.sampleRate;
        columns = m.columns;
        role = m.role;
        if (role === 'vad' || !m.canvas) {
          vadStatus = role === 'vad' ? 'loading' : 'failed';
          if (role === 'vad') loadVad();
          return ok();
        }
        vadStatus = 'failed';
        vadError = 'this instance draws spectrograms';
        canvas = m.canvas;
        gl = new SpectroGl(canvas, columns, 128, spectro.colormap);
        const dbg = gl.gl.getExtension('WEBGL_debug_renderer_info');
        renderer = dbg ? String(gl.gl.getParameter(dbg.UNMASKED_RENDERER_WEBGL)) : 'WebGL2';
        resize();
        schedule();
        return ok();
      }
      case 'add':
        addLane(m.user_id, m.port);
        return ok();
      case 'remove':
        removeLane(m.user_id);
        return ok();
      case 'clock': {
        const lane = lanes.get(m.user_id);
        if (lane) lane.clock = { frame: m.frame, ns: BigInt(m.ns) };
        return ok();
      }
      case 'layout':
        layout = { order: m.order.slice(0, MAX_LANES), width: Math.max(1, Math.min(8192, Math.round(m.width))), laneHeight: Math.max(8, Math.min(1024, Math.round(m.laneHeight))), gap: Math.max(0, Math.round(m.gap)) };
        resize();
        return ok();
      case 'view': {
        const was = view;
        view = { paused: m.paused, back_frames: Math.max(0, Math.round(m.back_frames)) };
        if (view.paused || was.paused || view.back_frames !== was.back_frames) rebuildView();
        return ok();
      }
      case 'spectro': {
        spectro = { ...spectro, ...m.settings };
        if (m.settings.colormap) gl?.setColormap(m.settings.colormap);
        if (m.settings.scale !== undefined || m.settings.fmax !== undefined || m.settings.rangeDb !== undefined) {
          for (const l of lanes.values()) {
            l.cols = new ColumnProcessor(columnOptions(), 16_384);
            l.hist = new ColumnHistory(l.cols.options.rows, l.hist.capacity);
            l.firstFrame = null;
          }
          rebuildView();
        }
        dirty = true;
        return ok();
      }
      case 'vad':
        // Checked by the segmenter: a bad value throws DspOptionsError and the old settings stay.
        for (const l of lanes.values()) l.segmenter.update(m.settings);
        vadSettings = { ...vadSettings, ...m.settings };
        return ok();
      case 'png':
        png(m.user_id).then(
          (blob) => scope.postMessage({ type: 'png', id: m.id, blob }),
          (e: unknown) => scope.postMessage({ type: 'error', id: m.id, message: (e as Error).message }),
        );
        return;
      case 'peek':
        scope.postMessage({ type: 'peek', id: m.id, peek: peek(m.user_id, m.hz) });
        return;
      case 'stats':
        scope.postMessage({ type: 'stats', id: m.id, stats: stats() });
        return;
      default:
        scope.postMessage({ type: 'error', id: (m as { id?: number }).id ?? -1, message: 'unknown request' });
    }
  } catch (e) {
    scope.postMessage({ type: 'error', id: m.id, message: (e as Error).message });
  }
};
