/** Errors worth telling the moderator (refused bus subscriptions, refused audio updates). */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import type { ConsoleModel } from '../state/store.ts';

export function Notices({ model }: { model: ConsoleModel }): VNode {
  const notices = model.state.notices.value;
  return html`<div class="notices" aria-live="polite">
    ${notices.map(
      (n) => html`<div key=${n.id} class=${`notice notice-${n.tone}`}>
        <span>${n.text}</span>
        <button type="button" class="link" onClick=${() => model.actions.dismissNotice(n.id)}>Dismiss</button>
      </div>`,
    )}
  </div>`;
}
