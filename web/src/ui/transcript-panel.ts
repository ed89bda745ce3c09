/**
 * The scrolling transcript of one voice channel: who said what and when, oldest at the top, in the
 * order it was spoken (the session's monotonic clock). It follows new lines while scrolled to the
 * bottom and stays put while the moderator reads further up (a "Jump to latest" button brings it
 * back). It lists finals only: a partial (`final: false`) lives in the speaker's caption until its
 * final arrives and takes its place here. For tests each line carries `data-segment-id`,
 * `data-speaker` and `data-final`. Lines spoken before the page loaded come from the session's
 * history (`state/transcript-history.ts`, loaded when the session is opened) through the same model,
 * so a line in both the history and the live feed is listed once.
 */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { userName } from '../state/select.ts';
import type { SessionTranscript, TranscriptLine } from '../state/transcripts.ts';
import type { RosterState } from '../state/types.ts';
import { formatClock, isoOf } from './transcript-format.ts';

/** Within this many pixels of the bottom counts as "at the bottom". */
const STICK_PX = 24;

export interface TranscriptPanelProps {
  transcript: SessionTranscript | undefined;
  roster: RosterState;
  channelLabel: string;
}

/** The lines the panel lists: the session's finals, in the session's order. */
export function panelLines(transcript: SessionTranscript | undefined): TranscriptLine[] {
  return (transcript?.lines ?? []).filter((l) => l.final);
}

export function TranscriptPanel({ transcript, roster, channelLabel }: TranscriptPanelProps): VNode {
  const box = useRef<HTMLOListElement>(null);
  const [following, setFollowing] = useState(true);
  const lines = panelLines(transcript);
  const last = lines.at(-1);
  // Follow new lines (and a final landing before the last one) while at the bottom.
  useLayoutEffect(() => {
    const el = box.current;
    if (el && following) el.scrollTop = el.scrollHeight;
  }, [lines.length, last?.key, last?.revision, following]);

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
            return html`<li key=${l.key} class="tr-line" data-segment-id=${l.segment_id} data-speaker=${l.speaker} data-final=${String(l.final)}>
              <time class="tr-time" datetime=${isoOf(l.spoken_at)}>${formatClock(l.spoken_at)}</time>
              <span class="tr-name">${name}</span>
              <span class="tr-text">${l.text}</span>
            </li>`;
          })}
        </ol>`}
    ${!following && lines.length > 0
      ? html`<button type="button" class="button tr-jump" onClick=${() => setFollowing(true)}>Jump to latest</button>`
      : null}
  </section>`;
}
