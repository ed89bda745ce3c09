/**
 * The live caption under a speaker tile: the speaker's latest transcript line, in italics while the
 * recogniser may still revise it. For tests the caption carries `data-segment-id` and `data-final`.
 */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import type { TranscriptLine } from '../state/transcripts.ts';

/** How long a caption stays under its tile after its last change. */
export const CAPTION_HOLD_MS = 30_000;

export function Caption({ line, name }: { line: TranscriptLine | null | undefined; name: string }): VNode {
  // Always rendered (empty when there is nothing to say) so screen readers announce each change.
  return html`<p class=${`caption${line && !line.final ? ' is-partial' : ''}`} aria-live="polite" data-segment-id=${line?.segment_id} data-final=${line ? String(line.final) : undefined}>
    ${line ? html`<span class="sr-only">${name}: </span><span class="caption-text">${line.text}</span>` : null}
  </p>`;
}
