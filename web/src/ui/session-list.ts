/**
 * Tenant → guilds → voice sessions. Every session is a button; Tab reaches the selected one,
 * ↑/↓/Home/End move through the list and select (selection follows focus), Tab leaves it.
 */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { channelName, groupSessions, isStale, sessionSpeakers } from '../state/select.ts';
import type { ConsoleModel } from '../state/store.ts';
import { sessionStatusLabel } from './format.ts';
import { SpeakerIcon } from './icons.ts';

const NAV_KEYS = new Set(['ArrowDown', 'ArrowUp', 'Home', 'End']);

export function SessionList({ model }: { model: ConsoleModel }): VNode | null {
  const auth = model.state.auth.value;
  if (auth.kind !== 'signed-in') return null;
  const roster = model.state.roster.value;
  const now = model.state.now.value;
  const selected = model.state.selected.value;
  const listening = model.state.listener.value;
  const listeningTo = listening.status === 'idle' || listening.status === 'error' ? null : listening.session_id;
  const groups = groupSessions(roster, auth.session);
  // Roving focus: Tab reaches the list once (the selected session); the arrows move within it.
  const ids = groups.flatMap((t) => t.guilds.flatMap((g) => g.sessions.map((s) => s.session_id)));
  const focusable = selected !== null && ids.includes(selected) ? selected : ids[0];

  const onKeyDown = (e: KeyboardEvent): void => {
    if (!NAV_KEYS.has(e.key)) return;
    const buttons = [...(e.currentTarget as HTMLElement).querySelectorAll<HTMLButtonElement>('button[data-session-id]')];
    if (buttons.length === 0) return;
    const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
    const last = buttons.length - 1;
    const next = e.key === 'Home' ? 0 : e.key === 'End' ? last : at < 0 ? 0 : e.key === 'ArrowDown' ? Math.min(last, at + 1) : Math.max(0, at - 1);
    e.preventDefault();
    const b = buttons[next]!;
    b.focus();
    if (b.dataset.sessionId) model.actions.select(b.dataset.sessionId);
  };

  return html`<nav class="sidebar" aria-labelledby="sessions-heading">
    <h2 id="sessions-heading">Voice sessions</h2>
    ${groups.length === 0
      ? html`<p class="empty">No voice sessions yet. They appear here as soon as the bot is in a voice channel.</p>`
      : html`<div class="session-tree" onKeyDown=${onKeyDown}>
          ${groups.map(
            (t) => html`<section class="tenant" key=${t.tenant}>
              <h3 class="tenant-name">Tenant <code>${t.tenant}</code></h3>
              ${t.guilds.map(
                (g) => html`<section class="guild" key=${g.guild_id ?? ''}>
                  <h4 class="guild-name">${g.name}</h4>
                  <ul class="sessions">
                    ${g.sessions.map((s) => {
                      const stale = isStale(s, now);
                      const label = sessionStatusLabel(s.status, stale);
                      const people = sessionSpeakers(roster, s).filter((x) => !x.bot).length;
                      const current = s.session_id === selected;
                      return html`<li key=${s.session_id}>
                        <button type="button" class=${`session${current ? ' is-current' : ''}`} data-session-id=${s.session_id} aria-current=${current ? 'true' : undefined} tabindex=${s.session_id === focusable ? 0 : -1} onClick=${() => model.actions.select(s.session_id)}>
                          <span class="session-channel"><${SpeakerIcon} /> ${channelName(roster, s.channel_id)}</span>
                          <span class="session-meta">
                            <span class=${`status status-${stale ? 'stale' : s.status}`}>${label}</span>
                            <span>${people === 1 ? '1 person' : `${people} people`}</span>
                            ${listeningTo === s.session_id ? html`<span class="listening-tag">listening</span>` : null}
                          </span>
                        </button>
                      </li>`;
                    })}
                  </ul>
                </section>`,
              )}
            </section>`,
          )}
        </div>`}
  </nav>`;
}
