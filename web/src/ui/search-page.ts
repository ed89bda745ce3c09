/**
 * Search for the selected voice session: stored messages of its server (or just its channel) by
 * exact phrase or by meaning, through `GET /api/search`, and the live transcript this console holds
 * by exact phrase. The server confines every search to what the session may see; the console asks
 * for the selected session's guild (and channel) only, so another server's messages never show.
 * For tests every hit carries `data-hit-id` (or `data-segment-id`), `data-guild-id` and
 * `data-channel-id`, and the page counts finished searches in `data-searches`.
 */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { errorMessage } from '../errors.ts';
import { MAX_QUERY_CHARS, searchMessages, type SearchMode, type SearchResult } from '../net/search.ts';
import { channelName, userName } from '../state/select.ts';
import { searchTranscripts, type TranscriptModel } from '../state/transcripts.ts';
import type { RosterState, SessionRecord } from '../state/types.ts';
import { formatClock, formatDateTime, isoOf, splitHighlight } from './transcript-format.ts';

const fetchFn = (input: string, init?: RequestInit) => fetch(input, init);
/** Hits asked of the server and shown from the transcript. */
const LIMIT = 50;

type Scope = 'channel' | 'guild';

interface Submitted {
  q: string;
  mode: SearchMode;
  scope: Scope;
}

type Outcome = { kind: 'idle' } | { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'done'; result: SearchResult };

/** The text with every occurrence of `phrase` in a `<mark>`. */
function highlighted(text: string, phrase: string | null): Array<VNode | string> {
  if (!phrase) return [text];
  return splitHighlight(text, phrase).map((p) => (p.match ? html`<mark>${p.text}</mark>` as VNode : p.text));
}

export interface SearchPageProps {
  session: SessionRecord;
  roster: RosterState;
  transcripts: TranscriptModel | undefined;
}

export function SearchPage({ session, roster, transcripts }: SearchPageProps): VNode {
  const [q, setQ] = useState('');
  const [mode, setMode] = useState<SearchMode>('phrase');
  const [scope, setScope] = useState<Scope>('guild');
  const [submitted, setSubmitted] = useState<Submitted | null>(null);
  const [outcome, setOutcome] = useState<Outcome>({ kind: 'idle' });
  const [finished, setFinished] = useState(0);
  const pending = useRef<AbortController | null>(null);
  useEffect(() => () => pending.current?.abort(), []);

  const submit = (e: Event): void => {
    e.preventDefault();
    const query = q.trim();
    // Without its guild the search could not be confined to this session's server.
    if (query.length === 0 || !session.guild_id) return;
    pending.current?.abort();
    const ctl = new AbortController();
    pending.current = ctl;
    setSubmitted({ q: query, mode, scope });
    setOutcome({ kind: 'loading' });
    const settle = (next: Outcome): void => {
      if (ctl !== pending.current || ctl.signal.aborted) return;
      setOutcome(next);
      setFinished((n) => n + 1);
    };
    searchMessages(fetchFn, { q: query, mode, guild: session.guild_id, channel: scope === 'channel' ? session.channel_id : null, limit: LIMIT }, ctl.signal).then(
      (result) => settle({ kind: 'done', result }),
      (error: unknown) => settle({ kind: 'error', message: errorMessage(error) }),
    );
  };

  // The live transcript: this session, or every session of its server; recomputed as lines arrive.
  const state = transcripts?.state.value;
  const sessionIds = submitted?.scope === 'channel'
    ? [session.session_id]
    : Object.values(roster.sessions).filter((s) => s.session_id === session.session_id || (s.guild_id !== null && s.guild_id === session.guild_id)).map((s) => s.session_id);
  const lines = state && submitted ? searchTranscripts(state, submitted.q, sessionIds, LIMIT) : [];
  // Mark the phrase where it was searched for (semantic hits need not contain it).
  const phrase = submitted && (outcome.kind !== 'done' || outcome.result.mode !== 'semantic') ? submitted.q : null;
  const here = channelName(roster, session.channel_id);

  return html`<section class="search-page" data-slot="search" data-searches=${finished} aria-labelledby="search-title">
    <h3 id="search-title" class="tiles-title">Search</h3>
    <form class="search-form" role="search" onSubmit=${submit}>
      <label class="search-q">
        <span class="sr-only">Search words</span>
        <input type="search" name="q" value=${q} maxLength=${MAX_QUERY_CHARS} placeholder="Words or a phrase" aria-label="Search words"
          onInput=${(e: Event) => setQ((e.currentTarget as HTMLInputElement).value)} />
      </label>
      <fieldset class="search-opts">
        <legend class="sr-only">Match</legend>
        <label><input type="radio" name="mode" value="phrase" checked=${mode === 'phrase'} onChange=${() => setMode('phrase')} /> Exact phrase</label>
        <label><input type="radio" name="mode" value="semantic" checked=${mode === 'semantic'} onChange=${() => setMode('semantic')} /> Similar meaning</label>
        <label><input type="radio" name="mode" value="both" checked=${mode === 'both'} onChange=${() => setMode('both')} /> Phrase and meaning</label>
      </fieldset>
      <label class="search-scope">In
        <select aria-label="Search in" value=${scope} onChange=${(e: Event) => setScope((e.currentTarget as HTMLSelectElement).value as Scope)}>
          <option value="guild">this server</option>
          <option value="channel">${here} only</option>
        </select>
      </label>
      <button type="submit" class="button button-primary" disabled=${q.trim().length === 0 || !session.guild_id}>Search</button>
    </form>
    ${session.guild_id ? null : html`<p class="hint">Search opens once this session's server is known.</p>`}
    ${outcome.kind === 'idle' ? html`<p class="hint">Finds stored messages of this server and lines of the live transcript.</p>` : null}
    ${outcome.kind === 'loading' ? html`<p class="hint" role="status">Searching…</p>` : null}
    ${outcome.kind === 'error' ? html`<p class="search-error" role="alert">Search failed: ${outcome.message}</p>` : null}
    ${outcome.kind === 'done'
      ? html`<div class="search-block" data-mode=${outcome.result.mode}>
          <h4>Messages <span class="count">${outcome.result.hits.length}</span></h4>
          ${outcome.result.notice ? html`<p class="search-notice" role="status">${outcome.result.notice}</p>` : null}
          ${outcome.result.hits.length === 0
            ? html`<p class="empty">No stored messages match.</p>`
            : html`<ol class="search-results">
                ${outcome.result.hits.map((h) => html`<li key=${h.id} class="hit" data-hit-id=${h.id} data-guild-id=${h.guild_id} data-channel-id=${h.channel_id}>
                  <p class="hit-meta">
                    <span class="tr-name">${userName(roster, h.author_id)}</span>
                    <span class="hit-where">in ${channelName(roster, h.channel_id)}</span>
                    <time datetime=${h.created_at}>${formatDateTime(h.created_at)}</time>
                    ${h.edited_at ? html`<span class="muted">(edited)</span>` : null}
                    ${h.match === 'semantic' || h.match === 'both' ? html`<span class="hit-match">${h.match === 'both' ? 'phrase and meaning' : 'by meaning'}</span>` : null}
                    ${h.distance !== undefined ? html`<span class="hit-distance" title="Cosine distance: lower is closer">distance ${h.distance.toFixed(3)}</span>` : null}
                  </p>
                  <p class="hit-text">${highlighted(h.content, phrase)}</p>
                </li>`)}
              </ol>`}
        </div>`
      : null}
    ${submitted && outcome.kind !== 'loading'
      ? html`<div class="search-block" data-slot="transcript-hits">
          <h4>Live transcript <span class="count">${lines.length}</span></h4>
          ${lines.length === 0
            ? html`<p class="empty">No line of the transcript kept in this console has “${submitted.q}”.</p>`
            : html`<ol class="search-results">
                ${lines.map((l) => {
                  const s = roster.sessions[l.session_id];
                  return html`<li key=${l.key} class="hit" data-segment-id=${l.segment_id} data-guild-id=${s?.guild_id ?? ''} data-channel-id=${s?.channel_id ?? ''}>
                    <p class="hit-meta">
                      <span class="tr-name">${userName(roster, l.speaker)}</span>
                      <span class="hit-where">in ${channelName(roster, s?.channel_id ?? null)}</span>
                      <time datetime=${isoOf(l.spoken_at)}>${formatClock(l.spoken_at)}</time>
                    </p>
                    <p class="hit-text">${highlighted(l.text, submitted.q)}</p>
                  </li>`;
                })}
              </ol>`}
        </div>`
      : null}
  </section>`;
}
