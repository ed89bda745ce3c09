/** Inline SVG icons (no icon font, no network). Decorative: the text beside them carries the meaning. */
import { html } from 'htm/preact';
import type { VNode } from 'preact';

const svg = (paths: VNode | VNode[]): VNode =>
  html`<svg class="icon" viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" focusable="false" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">${paths}</svg>`;

export const MicOffIcon = (): VNode =>
  svg([html`<path d="M9 9v3a3 3 0 0 0 5.1 2.1M15 9.3V5a3 3 0 0 0-5.9-.8" />`, html`<path d="M17 16.9A7 7 0 0 1 5 12v-1m14 0v1a7 7 0 0 1-.1 1.2M12 19v3" />`, html`<path d="m2 2 20 20" />`]);

export const HeadphonesOffIcon = (): VNode =>
  svg([html`<path d="M21 14h-1.3M21 14v4a2 2 0 0 1-.6 1.4M3 14h3a2 2 0 0 1 2 2v3a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-7a9 9 0 0 1 2.6-6.4M8.5 3.7A9 9 0 0 1 21 12v2" />`, html`<path d="m2 2 20 20" />`]);

export const SpeakerIcon = (): VNode =>
  svg([html`<path d="M11 5 6 9H2v6h4l5 4V5z" />`, html`<path d="M15.5 8.5a5 5 0 0 1 0 7M19 5a10 10 0 0 1 0 14" />`]);

export const StopIcon = (): VNode => svg(html`<rect x="6" y="6" width="12" height="12" rx="2" />`);
