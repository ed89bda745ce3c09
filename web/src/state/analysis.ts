/** What the analysis panel shows (signals written by `analysis-root.ts`, read by `ui/analysis-panel.ts`). */
import { signal, type Signal } from '@preact/signals';
import type { BrowserSegment, SpectroSettings } from '../dsp/analysis-protocol.ts';
import { defaultSpectroSettings } from '../dsp/analysis-protocol.ts';
import type { CaptureStats } from '../replay/protocol.ts';

export interface EvidencePolicy {
  replay: boolean;
  export: boolean;
}

export interface AnalysisState {
  /** Why replay or analysis is not available in this browser, if it is not. */
  unsupported: Signal<string | null>;
  paused: Signal<boolean>;
  /** Seconds behind live that the view (and replay / export span) ends. */
  backSeconds: Signal<number>;
  spectro: Signal<SpectroSettings>;
  /** Silero's speech threshold (0..1), changeable live. */
  vadThreshold: Signal<number>;
  policy: Signal<EvidencePolicy>;
  capture: Signal<CaptureStats[]>;
  /** Last segments per speaker (newest last, at most 20 each). */
  segments: Signal<Readonly<Record<string, BrowserSegment[]>>>;
  /** Speech now, per the browser's VAD. */
  vadSpeaking: Signal<Readonly<Record<string, boolean>>>;
  /** Where segments go: published on the bus (the session holds the stream's dsp: grant) or kept here. */
  published: Signal<number>;
  busy: Signal<string | null>;
  message: Signal<string | null>;
}

export interface AnalysisActions {
  /** Places the spectrogram canvas (created once, drawn by the worker) in `container`; returns it. */
  attachCanvas(container: HTMLElement): HTMLCanvasElement;
  layout(order: string[], width: number, laneHeight: number, gap: number): void;
  setPaused(paused: boolean): void;
  setBack(seconds: number): void;
  setSpectro(settings: Partial<SpectroSettings>): void;
  setVadThreshold(threshold: number): void;
  replay(userId: string): void;
  exportClip(userId: string): void;
  exportPng(userId: string | null): void;
  /** Owners: turn replay / export on or off for the selected session's guild. */
  setPolicy(policy: EvidencePolicy): void;
}

export interface AnalysisModel {
  state: AnalysisState;
  actions: AnalysisActions;
}

export function createAnalysisState(): AnalysisState {
  return {
    unsupported: signal(null),
    paused: signal(false),
    backSeconds: signal(0),
    spectro: signal({ ...defaultSpectroSettings }),
    vadThreshold: signal(0.5),
    policy: signal({ replay: true, export: true }),
    capture: signal([]),
    segments: signal({}),
    vadSpeaking: signal({}),
    published: signal(0),
    busy: signal(null),
    message: signal(null),
  };
}
