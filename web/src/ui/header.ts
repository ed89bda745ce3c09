/** Product name, who is signed in, and whether the bus and the audio are live. */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import type { ConsoleModel } from '../state/store.ts';
import { FlagsPill, type FlagsHost } from './flags-panel.ts';
import { audioLabel, busLabel } from './format.ts';

export function Header({ model }: { model: ConsoleModel & FlagsHost }): VNode | null {
  const auth = model.state.auth.value;
  if (auth.kind !== 'signed-in') return null;
  const { session } = auth;
  const bus = model.state.bus.value;
  const audio = model.state.listener.value;
  const busTone = bus === 'open' ? 'ok' : bus === 'closed' ? 'bad' : 'warn';
  const audioTone = audio.status === 'live' ? 'ok' : audio.status === 'idle' ? 'off' : audio.status === 'error' ? 'bad' : 'warn';
  return html`<header class="topbar">
    <div class="brand">
      <span class="logo" aria-hidden="true"></span>
      <h1>Promethean Voice Bridge</h1>
    </div>
    <p class="who">
      Signed in as <strong>${session.name ?? session.role}</strong>
      <span class="badge badge-role">${session.role}</span>
      ${session.tenant ? html`<span class="tenant-tag">tenant <code>${session.tenant}</code></span>` : null}
    </p>
    <div class="conn" role="status" aria-label="Connection status">
      <span class=${`pill pill-${busTone}`} data-bus-status=${bus}><span class="dot" aria-hidden="true"></span>Bus: ${busLabel(bus)}</span>
      <span class=${`pill pill-${audioTone}`} data-audio-status=${audio.status}><span class="dot" aria-hidden="true"></span>Audio: ${audioLabel(audio)}</span>
      ${model.flags ? html`<${FlagsPill} flags=${model.flags} />` : null}
    </div>
  </header>`;
}
