/** Messages between the page and the analysis worker (`analysis.worker.ts`). */
import type { VadSettings } from '@promethean/shared';
import type { ColormapName } from './colormap.ts';
import type { ColumnOptions } from './columns.ts';

export interface SpectroSettings {
  scale: ColumnOptions['scale'];
  fmax: number;
  rangeDb: number;
  colormap: ColormapName;
}

export const defaultSpectroSettings: SpectroSettings = { scale: 'mel', fmax: 8000, rangeDb: 90, colormap: 'magma' };

/** A speech segment found in the browser: sample positions on the AudioContext clock and the session clock. */
export interface BrowserSegment {
  user_id: string;
  index: number;
  /** Session-clock ns (decimal strings), or null while no clock pair is known. */
  ts_start_ns: string | null;
  ts_end_ns: string | null;
  /** AudioContext frames. */
  start_frame: number;
  end_frame: number;
  energy_rms: number;
  snr: number;
  threshold: number;
  silence_ms: number;
}

export interface AnalysisStats {
  /** Mean and worst ms per Silero window (32 ms) since the last stats call. */
  vad_ms_mean: number;
  vad_ms_max: number;
  vad_windows: number;
  /** Mean and worst ms per drawn frame (all lanes). */
  frame_ms_mean: number;
  frame_ms_max: number;
  frames: number;
  vad: 'loading' | 'ready' | 'failed';
  vad_error: string | null;
  renderer: string;
}

/** The same worker runs twice: one instance draws spectrograms, the other runs VAD (two threads). */
export type AnalysisRole = 'spectro' | 'vad';

export type AnalysisRequest =
  | { type: 'init'; id: number; role: AnalysisRole; canvas: OffscreenCanvas | null; sampleRate: number; columns: number }
  | { type: 'add'; id: number; user_id: string; port: MessagePort }
  | { type: 'remove'; id: number; user_id: string }
  | { type: 'clock'; id: number; user_id: string; frame: number; ns: string }
  | { type: 'layout'; id: number; order: string[]; width: number; laneHeight: number; gap: number }
  | { type: 'view'; id: number; paused: boolean; back_frames: number }
  | { type: 'spectro'; id: number; settings: Partial<SpectroSettings> }
  | { type: 'vad'; id: number; settings: Partial<VadSettings> }
  | { type: 'png'; id: number; user_id: string | null }
  | { type: 'peek'; id: number; user_id: string; hz: number }
  | { type: 'stats'; id: number };

export interface Peek {
  /** Columns drawn for this speaker so far. */
  columns: number;
  /** The newest column's loudest row, its centre frequency, and the row that holds `hz`. */
  peak_row: number;
  peak_hz: number;
  row_of_hz: number;
  /** Byte value (0..255) at the peak and at `hz`'s row. */
  peak_value: number;
  value_at_hz: number;
  /** Segments found so far for this speaker, and whether speech is on now. */
  segments: number;
  speaking: boolean;
  /** Silero windows run for this speaker. */
  vad_windows: number;
}

export type AnalysisResponse =
  | { type: 'ok'; id: number }
  | { type: 'error'; id: number; message: string }
  | { type: 'png'; id: number; blob: Blob }
  | { type: 'peek'; id: number; peek: Peek | null }
  | { type: 'stats'; id: number; stats: AnalysisStats }
  | { type: 'segment'; segment: BrowserSegment }
  | { type: 'speaking'; user_id: string; speaking: boolean };
