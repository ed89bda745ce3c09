/**
 * The selected voice session: where it is, how healthy, who is in it, and the one button
 * moderators come for — "Listen to all" / "Stop listening".
 */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import type { ListenerState } from '../media/listener-machine.ts';
import { channelName, guildName, isStale, listenTarget, sessionSpeakers } from '../state/select.ts';
import type { ConsoleModel } from '../state/store.ts';
import type { SessionRecord } from '../state/types.ts';
import { captionsOf, type TranscriptsHost } from '../state/transcripts.ts';
import { CAPTION_HOLD_MS } from './captions.ts';
import { FlagsPanel, FlagsTabBadge, type FlagsHost } from './flags-panel.ts';
import { SearchPage } from './search-page.ts';
import { TranscriptPanel } from './transcript-panel.ts';
import { formatMs, formatPct, moderatorsListening, sessionStatusLabel } from './format.ts';
import { SpeakerIcon, StopIcon } from './icons.ts';
import { AnalysisPanel } from './analysis-panel.ts';
import { OwnerControls } from './owner-controls.ts';
import { BotPanel } from './bot-panel.ts';
import { SpeakerTile } from './speaker-tile.ts';

function audioLine(l: ListenerState, speakers: number): string | null {
  switch (l.status) {
    case 'negotiating':
      return l.attempt > 0 ? 'Reconnecting audio…' : 'Connecting audio…';
    case 'live':
      return speakers === 1 ? 'Hearing 1 speaker.' : `Hearing ${speakers} speakers.`;
    case 'reconnecting':
      return `Audio interrupted (${l.reason}). Trying again in ${Math.max(1, Math.round(l.delay_ms / 1000))} s…`;
    case 'error':
      return `Could not listen: ${l.message}`;
    case 'idle':
      return null;
  }
}

function Health({ s }: { s: SessionRecord }): VNode | null {
  const h = s.health;
  if (!h) return null;
  return html`<dl class="health" aria-label="Voice link health">
    <div><dt>Bridge</dt><dd>${h.state.toLowerCase()}</dd></div>
    <div><dt>Loss</dt><dd>${formatPct(h.loss_pct)}</dd></div>
    <div><dt>Jitter</dt><dd>${formatMs(h.jitter_ms)}</dd></div>
    <div><dt>Ping</dt><dd>${formatMs(h.ping_ms)}</dd></div>
    ${h.faults.length > 0 ? html`<div class="faults"><dt>Faults</dt><dd>${h.faults.join(', ')}</dd></div>` : null}
  </dl>`;
}

/** The views of a session: live (tiles, transcript, analysis), search, and moderation flags. */
type View = 'live' | 'search' | 'flags';

export function SessionView({ model }: { model: ConsoleModel & TranscriptsHost & FlagsHost }): VNode {
  const [view, setView] = useState<View>('live');
  const auth = model.state.auth.value;
  const roster = model.state.roster.value;
  const now = model.state.now.value;
  const id = model.state.selected.value;
  const s = id ? roster.sessions[id] : undefined;
  if (!s || auth.kind !== 'signed-in') {
    return html`<section class="session-view empty-view" aria-labelledby="sv-title">
      <h2 id="sv-title">No session selected</h2>
      <p>Live voice sessions of your servers show up on the left. Pick one to see who is talking and listen in.</p>
    </section>`;
  }
  const l = model.state.listener.value;
  const tracks = model.state.audioTracks.value;
  const blocked = model.state.audioBlocked.value;
  const speakers = sessionSpeakers(roster, s);
  const targets = listenTarget(roster, s).user_ids;
  const here = l.status !== 'idle' && l.session_id === s.session_id;
  const active = here && l.status !== 'error';
  const stale = isStale(s, now);
  const line = here ? audioLine(l, tracks.length) : null;
  const gName = guildName(roster, s.guild_id);
  const transcript = model.transcripts?.state.value.sessions[s.session_id];
  const captions = captionsOf(transcript, now, CAPTION_HOLD_MS);
  const tab = (v: View, label: string, extra: VNode | null = null) =>
    html`<button type="button" role="tab" id=${`sv-tab-${v}`} class=${`sv-tab${view === v ? ' is-current' : ''}`} aria-selected=${String(view === v)} aria-controls=${`sv-panel-${v}`} onClick=${() => setView(v)}>${label}${extra}</button>`;

  return html`<section class="session-view" aria-labelledby="sv-title" data-session-id=${s.session_id}>
    <div class="sv-head">
      <div class="sv-title">
        <h2 id="sv-title"><${SpeakerIcon} /> ${channelName(roster, s.channel_id)}</h2>
        <p class="sv-where">
          ${gName}
          <span class=${`status status-${stale ? 'stale' : s.status}`}>${sessionStatusLabel(s.status, stale)}</span>
        </p>
      </div>
      <div class="sv-actions">
        ${s.listeners !== null ? html`<p class="listeners" data-listeners=${s.listeners}>${moderatorsListening(s.listeners)}</p>` : null}
        <button type="button" class=${active ? 'button button-stop' : 'button button-primary'} disabled=${!active && targets.length === 0} onClick=${() => model.actions.toggleListen(s.session_id)}>
          ${active ? html`<${StopIcon} />` : html`<${SpeakerIcon} />`}${active ? 'Stop listening' : 'Listen to all'}
        </button>
      </div>
    </div>
    <div class="sv-tabs" role="tablist" aria-label="Session views">${tab('live', 'Live')}${tab('search', 'Search')}${model.flags ? tab('flags', 'Flags', html`<${FlagsTabBadge} flags=${model.flags} guildId=${s.guild_id} />`) : null}</div>
    <div class="sv-panel" id="sv-panel-live" role="tabpanel" aria-labelledby="sv-tab-live" hidden=${view !== 'live'}>
    ${!active && targets.length === 0 ? html`<p class="hint">Nobody to listen to yet: no one besides bots is in this channel.</p>` : null}
    <p class=${`audio-line${l.status === 'error' || l.status === 'reconnecting' ? ' is-warn' : ''}`} aria-live="polite">${line ?? ''}</p>
    ${here && blocked
      ? html`<p class="blocked">Your browser paused the audio. <button type="button" class="button" onClick=${() => model.actions.enableAudio()}>Play audio</button></p>`
      : null}
    <${Health} s=${s} />
    <h3 class="tiles-title">In the channel <span class="count">${speakers.length}</span></h3>
    ${speakers.length === 0
      ? html`<p class="empty">Nobody in the channel yet.</p>`
      : html`<ul class="tiles">
          ${speakers.map((sp) => html`<${SpeakerTile} key=${sp.user_id} model=${model} speaker=${sp} listening=${active} hasTrack=${tracks.includes(sp.user_id)} caption=${captions[sp.user_id] ?? null} />`)}
        </ul>`}
    ${model.transcripts ? html`<${TranscriptPanel} transcript=${transcript} roster=${roster} channelLabel=${channelName(roster, s.channel_id)} />` : null}
    ${model.analysis
      ? html`<${AnalysisPanel} analysis=${model.analysis} owner=${auth.session.role === 'owner'}
          speakers=${active ? speakers.filter((sp) => tracks.includes(sp.user_id)).map((sp) => ({ user_id: sp.user_id, name: sp.name })) : []} />`
      : null}
    ${auth.session.role === 'owner' || auth.session.role === 'moderator' ? html`<${BotPanel} key=${s.session_id} sessionId=${s.session_id} guildId=${s.guild_id} owner=${auth.session.role === 'owner'} />` : null}
    ${auth.session.role === 'owner' ? html`<${OwnerControls} guildName=${gName} guildId=${s.guild_id} channelId=${s.channel_id} channelName=${channelName(roster, s.channel_id)} />` : null}
    </div>
    <div class="sv-panel" id="sv-panel-search" role="tabpanel" aria-labelledby="sv-tab-search" hidden=${view !== 'search'}>
      <${SearchPage} key=${s.session_id} session=${s} roster=${roster} transcripts=${model.transcripts} />
    </div>
    ${model.flags
      ? html`<div class="sv-panel" id="sv-panel-flags" role="tabpanel" aria-labelledby="sv-tab-flags" hidden=${view !== 'flags'}>
          <${FlagsPanel} flags=${model.flags} roster=${roster} session=${s} />
        </div>`
      : null}
  </section>`;
}
