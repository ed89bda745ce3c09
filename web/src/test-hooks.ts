/**
 * Test hook for end-to-end tests (real Chromium): `window.__promethean`.
 *   tracks()            → [{ user_id, mid, track_id }] for every speaker track being played
 *   analyse(userId, hz) → magnitude (dB) at `hz` in that speaker's AnalyserNode spectrum
 *                         (fftSize 4096; the largest of the nearest bin and its neighbours;
 *                         −Infinity when the speaker has no track)
 *   status()            → { bus, audio, session_id } as the header shows them
 * Not an API for anything else; it exposes no token and changes nothing.
 */
import type { AnalysisTestHooks } from './analysis-root.ts';
import type { TrackInfo } from './media/audio-graph.ts';

export interface PrometheanTestHooks {
  /**
   * The browser analysis: `peek(userId, hz)` (the newest spectrogram column's loudest row and the row
   * holding `hz`), `stats()` (VAD and frame timings), `capture()` (replay rings), `segments(userId)`,
   * `lastExport()` (the last evidence sidecar).
   */
  analysis: AnalysisTestHooks;
  tracks(): TrackInfo[];
  analyse(userId: string, hz: number): number;
  status(): { bus: string; audio: string; session_id: string | null };
}

declare global {
  interface Window {
    __promethean?: PrometheanTestHooks;
  }
}

export function installTestHooks(hooks: PrometheanTestHooks): void {
  Object.defineProperty(window, '__promethean', { value: Object.freeze({ ...hooks }), configurable: true, enumerable: false });
}
