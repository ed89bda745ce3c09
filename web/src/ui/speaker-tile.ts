/**
 * One speaker: avatar with a speaking ring, name, bot badge, voice state (mute / deaf), level
 * meter, and what the moderator hears (volume, mute, solo). For tests the tile carries
 * `data-user-id`, `data-speaking` and `data-level` (RMS dBFS, rounded).
 */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { defaultSpeakerPrefs } from '../media/mix.ts';
import type { SpeakerView } from '../state/select.ts';
import type { ConsoleModel } from '../state/store.ts';
import type { TranscriptLine } from '../state/transcripts.ts';
import { Avatar } from './avatar.ts';
import { Caption } from './captions.ts';
import { meterPercent } from './format.ts';
import { HeadphonesOffIcon, MicOffIcon } from './icons.ts';

export interface SpeakerTileProps {
  model: ConsoleModel;
  speaker: SpeakerView;
  /** The moderator listens to this tile's session. */
  listening: boolean;
  /** A track of this speaker is playing. */
  hasTrack: boolean;
  /** The speaker's latest transcript line, shown under the tile (captions.ts). */
  caption?: TranscriptLine | null;
}

function voiceStates(s: SpeakerView): Array<{ label: string; icon: () => VNode }> {
  const out: Array<{ label: string; icon: () => VNode }> = [];
  if (s.mute) out.push({ label: 'Server muted', icon: MicOffIcon });
  else if (s.self_mute) out.push({ label: 'Muted', icon: MicOffIcon });
  if (s.deaf) out.push({ label: 'Server deafened', icon: HeadphonesOffIcon });
  else if (s.self_deaf) out.push({ label: 'Deafened', icon: HeadphonesOffIcon });
  return out;
}

export function SpeakerTile({ model, speaker, listening, hasTrack, caption }: SpeakerTileProps): VNode {
  const level = model.state.level(speaker.user_id).value;
  const prefs = model.state.prefs.value[speaker.user_id] ?? defaultSpeakerPrefs;
  const { actions } = model;
  const nameId = `speaker-${speaker.user_id}-name`;
  const pct = meterPercent(level.db);
  const volume = Math.round(prefs.volume * 100);
  const states = voiceStates(speaker);
  const classes = ['tile', level.speaking ? 'is-speaking' : '', speaker.bot ? 'is-bot' : '', prefs.muted ? 'is-muted' : ''].filter(Boolean).join(' ');
  return html`<li class=${classes} data-user-id=${speaker.user_id} data-speaking=${String(level.speaking)} data-level=${String(level.db)} aria-labelledby=${nameId}>
    <div class="tile-head">
      <div class="avatar-ring"><${Avatar} name=${speaker.name} url=${speaker.avatar_url} /></div>
      <div class="tile-id">
        <p class="tile-name" id=${nameId} title=${speaker.named ? speaker.name : `Discord user ${speaker.user_id}`}>
          <span class="name">${speaker.name}</span>
          ${speaker.bot ? html`<span class="badge badge-bot">Bot</span>` : null}
        </p>
        <p class="tile-sub">
          ${level.speaking ? html`<span class="speaking-tag">Speaking</span>` : null}
          ${states.map(({ label, icon: Icon }) => html`<span class="voice-state" key=${label}><${Icon} />${label}</span>`)}
          ${speaker.bot ? html`<span class="tile-note">Not relayed</span>` : listening && !hasTrack ? html`<span class="tile-note">No audio yet</span>` : null}
        </p>
      </div>
    </div>
    ${speaker.bot ? null : html`<div class="meter" role="meter" aria-label=${`Level of ${speaker.name}`} aria-valuemin="-60" aria-valuemax="0" aria-valuenow=${Math.max(-60, Math.min(0, level.db))} aria-valuetext=${level.db <= -100 ? 'silent' : `${level.db} dB`}>
      <span class="meter-fill" style=${{ transform: `scaleX(${pct / 100})` }}></span>
    </div>`}
    ${speaker.bot
      ? null
      : html`<div class="tile-controls">
          <label class="volume">
            <span class="volume-label">Volume</span>
            <input type="range" min="0" max="100" step="1" value=${volume} aria-label=${`Volume for ${speaker.name}`} aria-valuetext=${`${volume} %`}
              onInput=${(e: Event) => actions.setVolume(speaker.user_id, Number((e.currentTarget as HTMLInputElement).value) / 100)} />
            <output class="volume-value">${volume}%</output>
          </label>
          <div class="toggles">
            <button type="button" class="toggle toggle-mute" aria-pressed=${String(prefs.muted)} onClick=${() => actions.toggleMute(speaker.user_id)}>Mute<span class="sr-only"> ${speaker.name}</span></button>
            <button type="button" class="toggle toggle-solo" aria-pressed=${String(prefs.solo)} onClick=${() => actions.toggleSolo(speaker.user_id)}>Solo<span class="sr-only"> ${speaker.name}</span></button>
          </div>
        </div>`}
    ${speaker.bot ? null : html`<${Caption} line=${caption} name=${speaker.name} />`}
  </li>`;
}
