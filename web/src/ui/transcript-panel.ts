/**
 * The scrolling transcript of one voice channel: who said what and when, oldest at the top, in the
 * order it was spoken (the session's monotonic clock). It follows new lines while scrolled to the
 * bottom and stays put while the moderator reads further up (a "Jump to latest" button brings it
 * back). For tests each line carries `data-segment-id`, `data-speaker` and `data-final`.
 */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { userName } from '../state/select.ts';
import type { SessionTranscript } from '../state/transcripts.ts';
import type { RosterState } from '../state/types.ts';
import { formatClock, isoOf } from './transcript-format.ts';

/** Within this many pixels of the bottom counts as "at the bottom". */
const STICK_PX = 24;

export interface TranscriptPanelProps {
  transcript: SessionTranscript | undefined;
  roster: RosterState;
  channelLabel: string;
}

export function TranscriptPanel({ transcript, roster, channelLabel }: TranscriptPanelProps): VNode {
  const box = useRef<HTMLOListElement>(null);
  const [following, setFollowing] = useState(true);
  const lines = transcript?.lines ?? [];
  const last = lines.at(-1);
  // Follow new lines (and revisions of the last one) while at the bottom.
  useLayoutEffect(() => {
    const el = box.current;
    if (el && following) el.scrollTop = el.scrollHeight;
  }, [lines.length, last?.key, last?.revision, last?.final, following]);

  const onScroll = (e: Event): void => {
    const el = e.currentTarget as HTMLElement;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight <= STICK_PX;
    if (atBottom !== following) setFollowing(atBottom);
  };

  return html`<section class="transcript-panel" data-slot="transcript" aria-labelledby="tr-title">
    <h3 id="tr-title" class="tiles-title">Transcript <span class="count">${lines.length}</span></h3>
    ${lines.length === 0
      ? html`<p class="empty">What people say in ${channelLabel} appears here as it is transcribed.</p>`
      : html`<ol class="transcript" ref=${box} onScroll=${onScroll} tabindex="0" role="log" aria-live="polite" aria-label=${`Transcript of ${channelLabel}`}>
          ${lines.map((l) => {
            const name = userName(roster, l.speaker);
            return html`<li key=${l.key} class=${`tr-line${l.final ? '' : ' is-partial'}`} data-segment-id=${l.segment_id} data-speaker=${l.speaker} data-final=${String(l.final)}>
              <time class="tr-time" datetime=${isoOf(l.spoken_at)}>${formatClock(l.spoken_at)}</time>
              <span class="tr-name">${name}</span>
              <span class="tr-text">${l.text}${l.final ? null : html`<span class="sr-only"> (still being transcribed)</span>`}</span>
            </li>`;
          })}
        </ol>`}
    ${!following && lines.length > 0
      ? html`<button type="button" class="button tr-jump" onClick=${() => setFollowing(true)}>Jump to latest</button>`
      : null}
  </section>`;
}
