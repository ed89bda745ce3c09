/**
 * OWNER CONTROLS — placeholder. Join / move / leave for a guild's voice channels will live here
 * (owners only). Not implemented yet: the calls do not exist on the server. When they do, add them
 * to `ConsoleActions` (state/store.ts), implement them in app.ts, and render the buttons below.
 */
import { html } from 'htm/preact';
import type { VNode } from 'preact';

export function OwnerControls({ guildName }: { guildName: string }): VNode {
  return html`<section class="owner-slot" data-slot="owner-controls" aria-labelledby="owner-title">
    <h3 id="owner-title">Owner controls · ${guildName}</h3>
    <p>Join, move and leave for this server's voice channels will appear here.</p>
  </section>`;
}
