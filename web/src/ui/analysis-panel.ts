/**
 * Live analysis of the speakers heard: one scrolling spectrogram lane per speaker (drawn by the
 * analysis worker on one WebGL2 canvas; this component only lays out the lanes, their labels and the
 * frequency axis), the browser VAD's speech state and segments, pause and scrub (the same span
 * drives replay and evidence export), PNG export, and for owners the guild's replay/export switches.
 */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { hzToMel } from '@promethean/shared';
import type { SpectroSettings } from '../dsp/analysis-protocol.ts';
import type { AnalysisModel } from '../state/analysis.ts';

const LANE_PX = 112;
const GAP_PX = 6;
const TICKS = [500, 1000, 2000, 4000, 8000, 12000, 16000, 24000];

/** Where `hz` sits in a lane, 0 (bottom) … 1 (top). */
function axisFraction(hz: number, s: SpectroSettings): number {
  if (s.scale === 'linear') return hz / s.fmax;
  return hzToMel(hz) / hzToMel(s.fmax);
}

function hzLabel(hz: number): string {
  return hz >= 1000 ? `${hz / 1000} kHz` : `${hz} Hz`;
}

export interface AnalysisPanelProps {
  analysis: AnalysisModel;
  /** Speakers with a track, in display order, with their names. */
  speakers: { user_id: string; name: string }[];
  owner: boolean;
}

export function AnalysisPanel({ analysis, speakers, owner }: AnalysisPanelProps): VNode {
  const { state: a, actions } = analysis;
  const holder = useRef<HTMLDivElement>(null);
  const order = speakers.map((s) => s.user_id);
  const orderKey = order.join(',');
  useEffect(() => {
    const box = holder.current;
    if (!box) return;
    // The canvas is the controller's own (its drawing moved to the worker once); it is only placed here.
    const c = actions.attachCanvas(box);
    const apply = () => {
      const dpr = Math.min(2, globalThis.devicePixelRatio || 1);
      actions.layout(order, Math.max(1, Math.round(c.clientWidth * dpr)), Math.round(LANE_PX * dpr), Math.round(GAP_PX * dpr));
    };
    apply();
    const ro = new ResizeObserver(apply);
    ro.observe(c);
    return () => ro.disconnect();
  }, [orderKey]);

  const spectro = a.spectro.value;
  const policy = a.policy.value;
  const paused = a.paused.value;
  const back = a.backSeconds.value;
  const busy = a.busy.value;
  const segments = a.segments.value;
  const speaking = a.vadSpeaking.value;
  const captured = a.capture.value;
  const ticks = TICKS.filter((t) => t <= spectro.fmax);
  const height = speakers.length * (LANE_PX + GAP_PX);

  return html`<section class="analysis" data-slot="analysis" aria-labelledby="an-title">
    <div class="an-head">
      <h3 id="an-title" class="tiles-title">Spectrograms and speech</h3>
      <div class="an-toolbar">
        <button type="button" class="button" aria-pressed=${String(paused)} onClick=${() => actions.setPaused(!paused)}>${paused ? 'Go live' : 'Pause'}</button>
        <label class="an-scrub">
          <span>Back</span>
          <input type="range" min="0" max="294" step="1" value=${back} aria-label="Seconds back from live" disabled=${!policy.replay}
            onInput=${(e: Event) => actions.setBack(Number((e.currentTarget as HTMLInputElement).value))} />
          <output>${back === 0 ? 'live' : `−${back} s`}</output>
        </label>
        <label>Scale
          <select aria-label="Frequency scale" value=${spectro.scale} onChange=${(e: Event) => actions.setSpectro({ scale: (e.currentTarget as HTMLSelectElement).value as SpectroSettings['scale'] })}>
            <option value="mel">Mel</option><option value="linear">Linear</option>
          </select>
        </label>
        <label>Colours
          <select aria-label="Colour map" value=${spectro.colormap} onChange=${(e: Event) => actions.setSpectro({ colormap: (e.currentTarget as HTMLSelectElement).value as SpectroSettings['colormap'] })}>
            <option value="magma">Magma</option><option value="viridis">Viridis</option><option value="gray">Grey</option>
          </select>
        </label>
        <label class="an-threshold">VAD threshold
          <input type="range" min="0.1" max="0.9" step="0.05" value=${a.vadThreshold.value} aria-label="VAD speech threshold"
            onInput=${(e: Event) => actions.setVadThreshold(Number((e.currentTarget as HTMLInputElement).value))} />
          <output>${a.vadThreshold.value.toFixed(2)}</output>
        </label>
        <button type="button" class="button" disabled=${busy !== null || speakers.length === 0} onClick=${() => actions.exportPng(null)}>PNG (all)</button>
      </div>
    </div>
    ${a.unsupported.value ? html`<p class="hint">${a.unsupported.value}</p>` : null}
    ${!policy.replay ? html`<p class="hint">An owner turned replay off for this guild: nothing is kept for replay or export.</p>` : !policy.export ? html`<p class="hint">An owner turned evidence export off for this guild.</p>` : null}
    ${speakers.length === 0 ? html`<p class="empty">Spectrograms appear here while you listen.</p>` : null}
    <div class="an-body" style=${{ height: `${height}px` }}>
      <div class="an-lanes">
        ${speakers.map((s) => {
          const segs = segments[s.user_id] ?? [];
          const cap = captured.find((c) => c.user_id === s.user_id);
          return html`<div class="an-lane" key=${s.user_id} data-lane=${s.user_id} data-vad-speaking=${String(speaking[s.user_id] ?? false)} data-segments=${segs.length} style=${{ height: `${LANE_PX}px`, marginBottom: `${GAP_PX}px` }}>
            <div class="an-axis" aria-hidden="true">
              ${ticks.map((t) => html`<span key=${t} style=${{ bottom: `${Math.round(axisFraction(t, spectro) * 100)}%` }}>${hzLabel(t)}</span>`)}
            </div>
            <div class="an-meta">
              <p class="an-name">${s.name}${speaking[s.user_id] ? html` <span class="speaking-tag">Speech</span>` : null}</p>
              <p class="an-sub">${segs.length} segment${segs.length === 1 ? '' : 's'}${cap ? ` · ${Math.round(cap.bytes / 1024)} KiB kept` : ''}</p>
              <div class="an-actions">
                <button type="button" class="an-btn" disabled=${busy !== null || !policy.replay} onClick=${() => actions.replay(s.user_id)}>Replay<span class="sr-only"> ${s.name}</span></button>
                <button type="button" class="an-btn" disabled=${busy !== null || !policy.export} onClick=${() => actions.exportClip(s.user_id)}>Export clip<span class="sr-only"> of ${s.name}</span></button>
                <button type="button" class="an-btn" disabled=${busy !== null} onClick=${() => actions.exportPng(s.user_id)}>PNG<span class="sr-only"> of ${s.name}</span></button>
              </div>
            </div>
          </div>`;
        })}
      </div>
      <div ref=${holder} class="an-canvas-box" style=${{ height: `${height}px` }}></div>
    </div>
    <p class="an-note">Each lane shows the last ${6} s ${paused ? `ending ${back} s before the pause` : 'up to now'}; replay and export take the same span. Kept in this browser only, for at most 5 minutes.</p>
    ${a.message.value ? html`<p class="an-message" role="status">${a.message.value}</p>` : null}
    ${owner
      ? html`<div class="an-policy">
          <label><input type="checkbox" checked=${policy.replay} onChange=${(e: Event) => actions.setPolicy({ replay: (e.currentTarget as HTMLInputElement).checked, export: policy.export })} /> Allow replay in this guild</label>
          <label><input type="checkbox" checked=${policy.export} disabled=${!policy.replay} onChange=${(e: Event) => actions.setPolicy({ replay: policy.replay, export: (e.currentTarget as HTMLInputElement).checked })} /> Allow evidence export</label>
        </div>`
      : null}
  </section>`;
}
